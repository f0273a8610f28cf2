"""What a run records: metric summaries from the trainer's log history, the run's own summary line, git commit."""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CURVES = {
    "sft": ("loss", "eval_loss"),
    "dpo": ("rewards/margins", "rewards/accuracies", "loss", "eval_rewards/margins"),
}


def curve_summary(values: Sequence[float]) -> dict[str, float]:
    """First, last, min, max and the means of the first and last thirds of a logged curve."""
    vals = [float(v) for v in values]
    third = max(1, len(vals) // 3)
    return {
        "first": round(vals[0], 6),
        "last": round(vals[-1], 6),
        "min": round(min(vals), 6),
        "max": round(max(vals), 6),
        "first_third_mean": round(sum(vals[:third]) / third, 6),
        "last_third_mean": round(sum(vals[-third:]) / third, 6),
        "points": len(vals),
    }


def history(records: Sequence[dict[str, Any]], key: str) -> list[float]:
    """One metric's values, in order, over logged records (``trainer_state.json`` log history or parsed lines)."""
    return [float(r[key]) for r in records if key in r]


def summarize(
    method: str, records: Sequence[dict[str, Any]], run_summary: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Curves (loss; for DPO reward margins and accuracies), steps logged, and the run's own closing summary."""
    out: dict[str, Any] = {"logged_steps": len(history(records, "loss"))}
    for key in CURVES[method]:
        values = history(records, key)
        if values:
            out[key.replace("/", "_")] = curve_summary(values)
    return out | {k: v for k, v in (run_summary or {}).items() if isinstance(v, int | float)}


def flat_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """``loss_first``-style floats for a StepResult (first/last of each curve, scalar summaries as they are)."""
    flat: dict[str, float] = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            flat |= {f"{key}_{k}": float(value[k]) for k in ("first", "last") if k in value}
        elif isinstance(value, int | float):
            flat[key] = float(value)
    return flat


def _floats(raw: dict[Any, Any]) -> dict[str, float]:
    out = {}
    for key, value in raw.items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def parse_log_records(lines: Sequence[str]) -> tuple[list[dict[str, float]], dict[str, float]]:
    """The trainer's printed metric dicts, in order, and its closing ``{'train_runtime': ...}`` summary."""
    records: list[dict[str, float]] = []
    summary: dict[str, float] = {}
    for line in lines:
        start = line.find("{'")
        end = line.find("}", start)
        if start < 0 or end < 0:
            continue
        try:
            raw = ast.literal_eval(line[start : end + 1])
        except (SyntaxError, ValueError):
            continue
        if not isinstance(raw, dict):
            continue
        values = _floats(raw)
        if "train_runtime" in values:
            summary = {k.replace("/", "_").split(" (")[0]: v for k, v in values.items()}
        elif values:
            records.append(values)
    return records, summary


def git_commit(root: Path) -> dict[str, Any]:
    """``git rev-parse HEAD`` of the project and whether the work tree has changes; empty outside git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": head, "dirty": bool(dirty)}


def wandb_record(rendered: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Where the W&B run went (project, run id, mode, local folder); empty when tracking is off."""
    if not rendered.get("wandb_project"):
        return {}
    keys = ("wandb_project", "wandb_entity", "wandb_run_id", "wandb_mode")
    return {k.removeprefix("wandb_"): rendered[k] for k in keys if rendered.get(k)} | {"dir": str(run_dir / "wandb")}
