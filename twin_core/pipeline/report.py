"""The closing report printed after a run: one row per step with counts, timing and its main output."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from twin_core.domain.results import StepResult

_MAX_COUNTS = 4


def _counts(r: StepResult) -> str:
    items = [f"{k}={v}" for k, v in r.counts.items()]
    return ", ".join(items[:_MAX_COUNTS]) + (f", +{len(items) - _MAX_COUNTS}" if len(items) > _MAX_COUNTS else "")


def _output(r: StepResult) -> str:
    """The step's message, else its first artifact (the full list is in the result file / XCom)."""
    if r.message:
        return r.message
    return next((f"{k}: {v}" for k, v in r.artifacts.items()), "")


def _replies(results: Sequence[StepResult]) -> list[str]:
    """What a deployed model answered to its health request, if a deploy step ran."""
    out = []
    for r in results:
        checks = r.details.get("health")
        for check in checks if isinstance(checks, list) else []:
            if isinstance(check, dict) and check.get("text") is not None:
                reply = str(check["text"]).strip()[:240]
                out.append(f"{check.get('model', 'model')}: {check.get('prompt')!r} -> {reply!r}")
    return out


def _asked(results: Sequence[StepResult]) -> list[str]:
    """The question an ``ask`` step put to the twin through the API, its answer and sources."""
    out = []
    for r in results:
        ask = r.details
        if r.step != "ask" or "question" not in ask:
            continue
        out.append(f"asked: {ask.get('question')!r} -> {str(ask.get('answer', '')).strip()[:400]!r}")
        for i, src in enumerate(ask.get("sources") or [], 1):
            if isinstance(src, dict):
                score = float(src.get("score") or 0)
                out.append(f"  source {i}: {src.get('link')} ({src.get('platform')}, score {score:.3f})")
    return out


def render_report(results: Sequence[StepResult], title: str, console: Console | None = None) -> None:
    """Print a table of step results, what a deployed model answered, and the total time."""
    console = console or Console()
    table = Table(title=title)
    for col, kw in (("step", {}), ("ok", {}), ("seconds", {"justify": "right"}), ("counts", {}), ("output", {})):
        table.add_column(col, overflow="fold", **kw)
    for r in results:
        table.add_row(r.step, "yes" if r.ok else "FAILED", f"{r.duration_s:.1f}", _counts(r), _output(r))
    console.print(table)
    for line in _replies(results):
        console.print(f"served: {line}", markup=False)
    for line in _asked(results):
        console.print(line, markup=False)
    total = sum(r.duration_s for r in results)
    ok = all(r.ok for r in results)
    console.print(f"{'OK' if ok else 'FAILED'}: {len(results)} step(s) in {total:.1f} s")
