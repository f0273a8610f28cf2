"""The closing report printed after a run: one row per step with counts, timings and artifacts."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from twin_core.domain.results import StepResult


def render_report(results: Sequence[StepResult], title: str, console: Console | None = None) -> None:
    """Print a table of step results and the total time."""
    console = console or Console()
    table = Table(title=title, show_lines=False)
    for col in ("step", "ok", "seconds", "counts", "artifacts / message"):
        table.add_column(col, overflow="fold")
    for r in results:
        counts = ", ".join(f"{k}={v}" for k, v in r.counts.items())
        where = ", ".join(f"{k}: {v}" for k, v in r.artifacts.items()) or r.message
        table.add_row(r.step, "yes" if r.ok else "FAILED", f"{r.duration_s:.2f}", counts, where)
    console.print(table)
    total = sum(r.duration_s for r in results)
    ok = all(r.ok for r in results)
    console.print(f"{'OK' if ok else 'FAILED'}: {len(results)} step(s) in {total:.1f} s")
