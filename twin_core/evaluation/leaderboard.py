"""The leaderboard: models as rows, metrics as columns, written as JSON, Markdown and a PNG plot."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from twin_core.evaluation.metrics import COLUMNS, METRICS, Direction, direction

ARROW = {"higher": "↑", "lower": "↓"}


class Row(BaseModel):
    """One model on the leaderboard."""

    model: str
    kind: str
    stage: str = Field(default="", description="Registry stage tags, comma-separated (candidate, production).")
    path: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    cached: bool = False


class Leaderboard(BaseModel):
    """Rows, the columns shown (in order) and each column's direction."""

    rows: list[Row]
    columns: list[str]
    directions: dict[str, Direction]
    meta: dict[str, Any] = Field(default_factory=dict)

    def row(self, model: str) -> Row | None:
        return next((r for r in self.rows if r.model == model), None)


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not math.isnan(x) and not math.isinf(x)


def build(rows: list[Row], extra_directions: dict[str, Direction] | None = None, **meta: Any) -> Leaderboard:
    """Columns are the known metrics any row has (catalogue order), then other directed metrics (standard tasks)."""
    rows = [r.model_copy(update={"metrics": {k: float(v) for k, v in r.metrics.items() if _finite(v)}}) for r in rows]
    present = {k for r in rows for k in r.metrics}
    extra = extra_directions or {}
    columns = [c for c in COLUMNS if c in present] + sorted(c for c in present - set(COLUMNS) if c in extra)
    dirs = {c: d for c in columns if (d := direction(c, extra))}
    return Leaderboard(rows=rows, columns=columns, directions=dirs, meta=meta)


def best(board: Leaderboard, column: str) -> float | None:
    """The best value of a column over the rows (by its direction)."""
    values = [r.metrics[column] for r in board.rows if _finite(r.metrics.get(column))]
    if not values:
        return None
    return max(values) if board.directions.get(column) == "higher" else min(values)


def _cell(value: Any, top: float | None) -> str:
    if not _finite(value):
        return "–"
    text = f"{value:.4g}"
    return f"**{text}**" if top is not None and value == top else text


def to_markdown(board: Leaderboard) -> str:
    """A Markdown table (best value per column in bold) with a legend of the columns."""
    header = ["model", "stage"] + [f"{c} {ARROW.get(board.directions.get(c, ''), '')}".strip() for c in board.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    tops = {c: best(board, c) for c in board.columns}
    for r in board.rows:
        cells = [r.model, r.stage or r.kind] + [_cell(r.metrics.get(c), tops[c]) for c in board.columns]
        lines.append("| " + " | ".join(cells) + " |")
    legend = [f"- `{c}`: {METRICS[c].description}" for c in board.columns if c in METRICS]
    run = board.meta.get("run")
    head = ["# Evaluation leaderboard" + (f" ({run})" if run else ""), ""]
    facts = [f"{k}: {v}" for k, v in board.meta.items() if k != "run" and isinstance(v, str | int | float)]
    return (
        "\n".join(
            [*head, *(f"- {f}" for f in facts), "", *lines, "", "Columns (↑ higher is better, ↓ lower):", *legend]
        )
        + "\n"
    )


def plot(board: Leaderboard, path: Path) -> Path:
    """One horizontal bar chart per column, models as bars; the best bar is highlighted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = board.columns or ["(no metrics)"]
    ncols = min(3, len(columns))
    nrows = math.ceil(len(columns) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 0.5 + (0.45 * len(board.rows) + 1.0) * nrows))
    flat = list(axes.flat) if hasattr(axes, "flat") else [axes]
    names = [r.model for r in board.rows]
    for ax, column in zip(flat, columns, strict=False):
        values = [r.metrics.get(column, float("nan")) for r in board.rows]
        top = best(board, column)
        colours = ["#2b8a3e" if _finite(v) and v == top else "#868e96" for v in values]
        finite = [v if _finite(v) else 0.0 for v in values]
        ax.barh(names, finite, color=colours)
        ax.invert_yaxis()
        ax.set_xlim(0, max([*finite, 1e-9]) * 1.3)
        ax.set_title(f"{column} {ARROW.get(board.directions.get(column, ''), '')}", fontsize=9)
        ax.tick_params(labelsize=8)
        for y, v in enumerate(values):
            ax.text(v if _finite(v) else 0.0, y, f" {v:.3g}" if _finite(v) else " n/a", va="center", fontsize=7)
    for ax in flat[len(columns) :]:
        ax.axis("off")
    fig.suptitle(f"LLM Twin leaderboard {board.meta.get('run', '')}".strip(), fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(board: Leaderboard, folder: Path) -> dict[str, Path]:
    """``leaderboard.json``, ``leaderboard.md`` and ``leaderboard.png`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {"json": folder / "leaderboard.json", "md": folder / "leaderboard.md", "png": folder / "leaderboard.png"}
    out["json"].write_text(json.dumps(board.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
    out["md"].write_text(to_markdown(board), encoding="utf-8")
    plot(board, out["png"])
    return out
