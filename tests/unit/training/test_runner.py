"""The Axolotl runner: line streaming, exit codes with the log tail, the missing-env message, checkpoint cleanup."""

from __future__ import annotations

import logging
import stat
import sys
from pathlib import Path

import pytest

from twin_core.training import runner
from twin_core.training.runner import (
    AxolotlFailed,
    AxolotlMissing,
    axolotl_env,
    axolotl_python,
    checkpoints,
    remove_incomplete_checkpoints,
    run_axolotl,
)


def _fake(tmp_path: Path, body: str) -> Path:
    """An executable standing in for the Axolotl python; it sees ``axolotl_main.py <command> <args>``."""
    script = tmp_path / "fake.py"
    script.write_text("import sys, time\n" + body)
    exe = tmp_path / "python"
    exe.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def test_lines_are_streamed_logged_and_saved(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    exe = _fake(
        tmp_path,
        "print('args', sys.argv[2:], flush=True)\n"
        "print('\\x1b[1mbold\\x1b[0m', flush=True)\n"
        "print('x', file=sys.stderr)",
    )
    caplog.set_level(logging.INFO, logger="twin.training.axolotl")
    lines = run_axolotl("train", ["cfg.yaml"], cwd=tmp_path, log_path=tmp_path / "train.log", python=exe, env={})
    assert lines == ["args ['train', 'cfg.yaml', '--launcher', 'python']", "bold", "x"]
    assert (tmp_path / "train.log").read_text().splitlines() == lines
    assert {"bold", "x"} <= {r.getMessage() for r in caplog.records}


def test_merge_gets_no_launcher_flag(tmp_path: Path) -> None:
    exe = _fake(tmp_path, "print(sys.argv[2:])")
    assert run_axolotl("merge-lora", ["c.yaml"], cwd=tmp_path, python=exe, env={}) == ["['merge-lora', 'c.yaml']"]


def test_failure_carries_exit_code_and_tail(tmp_path: Path) -> None:
    exe = _fake(tmp_path, "for i in range(100):\n    print(f'line {i}')\nsys.exit(7)")
    with pytest.raises(AxolotlFailed) as err:
        run_axolotl("train", [], cwd=tmp_path, log_path=tmp_path / "t.log", python=exe, env={})
    message = str(err.value)
    assert message.startswith("axolotl train exited with code 7; full log: ")
    assert "line 99" in message and "line 59" not in message and len(err.value.tail) == runner.TAIL_LINES


def test_killed_process_is_reported_by_signal(tmp_path: Path) -> None:
    exe = _fake(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    with pytest.raises(AxolotlFailed, match="axolotl train was killed by signal 9"):
        run_axolotl("train", [], cwd=tmp_path, python=exe, env={})


def test_pid_file_exists_while_running(tmp_path: Path) -> None:
    pid_file = tmp_path / "axolotl.pid"
    exe = _fake(tmp_path, f"print(open({str(pid_file)!r}).read())")
    [pid] = run_axolotl("train", [], cwd=tmp_path, python=exe, env={}, pid_file=pid_file)
    assert int(pid) > 0 and not pid_file.exists()


def test_missing_environment_names_make_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TWIN_AXOLOTL_PYTHON", str(tmp_path / "nope" / "python"))
    with pytest.raises(AxolotlMissing, match=r"not found at .*nope/python .*run `make setup`"):
        axolotl_python()


def test_subprocess_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    env = axolotl_env({"WANDB_DIR": "/r"})
    assert env["AXOLOTL_DO_NOT_TRACK"] == "1" and env["HF_HUB_OFFLINE"] == "1"
    assert env["WANDB_MODE"] == "offline" and env["WANDB_DIR"] == "/r" and "PYTHONPATH" not in env
    monkeypatch.setenv("WANDB_API_KEY", "k")
    assert "WANDB_MODE" not in axolotl_env()


def test_progress_lines_are_throttled_and_config_dump_is_quiet() -> None:
    router = runner._LineRouter()
    assert router.level("[2026] [INFO] [axolotl.cli.config] config:") == logging.DEBUG
    assert router.level('  "adapter": "lora",') == logging.DEBUG
    assert router.level("}") == logging.DEBUG
    assert router.level(" 10%|#         | 1/10 [00:01<00:09]") == logging.INFO
    assert router.level(" 20%|##        | 2/10 [00:02<00:08]") is None
    assert router.level("100%|##########| 10/10 [00:10<00:00]") == logging.INFO
    assert router.level(" 30%|###  | 3/10 {'loss': '1.2'}") == logging.INFO


def test_incomplete_checkpoints_are_removed(tmp_path: Path) -> None:
    for step, complete in ((2, True), (10, True), (4, True), (12, False)):
        ck = tmp_path / f"checkpoint-{step}"
        ck.mkdir()
        (ck / "adapter_model.safetensors").write_bytes(b"w")
        if complete:
            (ck / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-x").mkdir()
    assert [p.name for p in checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-4", "checkpoint-10", "checkpoint-12"]
    removed = remove_incomplete_checkpoints(tmp_path)
    assert [p.name for p in removed] == ["checkpoint-12"] and not removed[0].exists()
    assert [p.name for p in checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-4", "checkpoint-10"]
    assert checkpoints(tmp_path / "absent") == [] and remove_incomplete_checkpoints(tmp_path / "absent") == []
