"""Run records: curve summaries computed by hand, the trainer's printed dicts parsed, git commit, W&B record."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from twin_core.training.tracking import (
    curve_summary,
    flat_metrics,
    git_commit,
    parse_log_records,
    summarize,
    wandb_record,
)


def test_curve_summary_by_hand() -> None:
    s = curve_summary([4.0, 3.0, 2.5, 2.0, 1.0, 0.5])
    assert s == {
        "first": 4.0,
        "last": 0.5,
        "min": 0.5,
        "max": 4.0,
        "first_third_mean": 3.5,  # (4 + 3) / 2
        "last_third_mean": 0.75,  # (1 + 0.5) / 2
        "points": 6,
    }
    assert curve_summary([2.0])["first_third_mean"] == 2.0


def test_parse_log_records_reads_progress_lines_and_the_summary() -> None:
    lines = [
        "[2026] [INFO] [axolotl.train] Starting trainer...",
        "  6%|▌   | 1/18 [00:00<00:01, 16.70it/s]  {'loss': '0.8287', 'grad_norm': '1.921', 'epoch': '0.1667'}",
        "{'eval_loss': '0.83', 'memory/max_active (GiB)': '0', 'epoch': 0}",
        "{'loss': '0.61', 'rewards/margins': '0.5', 'note': 'text'}",
        "{'broken': ",
        "{'train_runtime': '2.614', 'train_loss': '0.5886', 'memory/max_active (GiB)': '1.5', 'epoch': '3'}",
    ]
    records, summary = parse_log_records(lines)
    assert records == [
        {"loss": 0.8287, "grad_norm": 1.921, "epoch": 0.1667},
        {"eval_loss": 0.83, "memory/max_active (GiB)": 0.0, "epoch": 0.0},
        {"loss": 0.61, "rewards/margins": 0.5},
    ]
    assert summary == {"train_runtime": 2.614, "train_loss": 0.5886, "memory_max_active": 1.5, "epoch": 3.0}


def test_summarize_sft_and_dpo() -> None:
    records = [{"loss": 1.0, "rewards/margins": 0.0}, {"eval_loss": 0.9}, {"loss": 0.5, "rewards/margins": 2.0}]
    sft = summarize("sft", records, {"train_runtime": 3.0})
    assert set(sft) == {"logged_steps", "loss", "eval_loss", "train_runtime"} and sft["logged_steps"] == 2
    dpo = summarize("dpo", records)
    assert dpo["rewards_margins"]["last"] == 2.0 and "eval_loss" not in dpo
    assert flat_metrics(dpo) == {
        "logged_steps": 2.0,
        "rewards_margins_first": 0.0,
        "rewards_margins_last": 2.0,
        "loss_first": 1.0,
        "loss_last": 0.5,
    }


def test_git_commit_of_a_repository(tmp_path: Path) -> None:
    assert git_commit(tmp_path) == {}
    run = {"cwd": tmp_path, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)  # type: ignore[call-overload]
    (tmp_path / "f").write_text("1")
    subprocess.run(["git", "add", "f"], **run)  # type: ignore[call-overload]
    who = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", *who, "commit", "-qm", "x"], **run)  # type: ignore[call-overload]
    info = git_commit(tmp_path)
    assert len(info["commit"]) == 40 and info["dirty"] is False
    (tmp_path / "f").write_text("2")
    assert git_commit(tmp_path)["dirty"] is True


@pytest.mark.parametrize(
    ("rendered", "expected"),
    [
        ({}, {}),
        (
            {"wandb_project": "p", "wandb_run_id": "r", "wandb_mode": "offline"},
            {"project": "p", "run_id": "r", "mode": "offline", "dir": "/run/wandb"},
        ),
    ],
)
def test_wandb_record(rendered: dict[str, str], expected: dict[str, str]) -> None:
    assert wandb_record(rendered, Path("/run")) == expected
