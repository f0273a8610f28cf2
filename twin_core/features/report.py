"""What the feature step shows and returns: its progress bar, tallies, and the StepResult."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from twin_core.domain.results import StepResult
from twin_core.features.cdc import ChangePlan
from twin_core.features.embedding import resolve_dtype

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin_core.features.pipeline")
MAX_LISTED_IDS = 100


@dataclass
class Tally:
    """Counts and stage timings gathered while processing."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    embedded_ids: list[str] = field(default_factory=list)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - t0


def progress_bar() -> Progress:
    """A rich progress bar on stderr (documents prepared, chunks embedded)."""
    return Progress(
        TextColumn("[bold]features[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def step_result(
    cfg: TwinSettings,
    plan: ChangePlan,
    tally: Tally,
    skipped: dict[str, Any],
    seen: int,
    total_chunks: int,
    elapsed: float,
) -> StepResult:
    """Counts, stage timings, ids (first 100) and a one-line message saying what was embedded, or that nothing was."""
    counts = {
        "documents_seen": seen,
        "documents_new": len(plan.new),
        "documents_changed": len(plan.changed),
        "documents_refreshed": len(plan.refreshed),
        "documents_unchanged": len(plan.unchanged),
        "documents_deleted": len(plan.deleted),
        "documents_skipped": len(skipped),
        "embedded_documents": len(tally.embedded_ids),
        "chunks_written": tally.counts["chunks_written"],
        "chunks_deleted": tally.counts["chunks_deleted"],
        "chunks_total": total_chunks,
    }
    metrics = {k: round(v, 4) for k, v in sorted(tally.seconds.items())}
    metrics["total_s"] = round(elapsed, 4)
    if tally.seconds.get("embed_s"):
        metrics["chunks_per_s"] = round(
            counts["chunks_written"] / max(elapsed - metrics.get("model_load_s", 0), 1e-9), 2
        )
    if counts["embedded_documents"] == 0:
        message = f"no change: embedded nothing ({len(plan.unchanged)} documents unchanged"
        message += f", {len(plan.deleted)} deleted)" if plan.deleted else ")"
    else:
        message = (
            f"embedded {counts['embedded_documents']} documents ({counts['chunks_written']} chunks): "
            f"{len(plan.new)} new, {len(plan.changed)} changed, {len(plan.refreshed)} refreshed, "
            f"{len(plan.deleted)} deleted, {len(plan.unchanged)} unchanged"
        )
    log.info("features: %s", message)
    wh_at = str(cfg.warehouse.path) if cfg.warehouse.engine == "embedded" else "mongodb"
    vs_at = str(cfg.vector_store.path) if cfg.vector_store.backend == "lancedb" else str(cfg.vector_store.url)
    return StepResult(
        step="feature",
        counts=counts,
        metrics=metrics,
        artifacts={"warehouse": wh_at, "vector_store": vs_at},
        details={
            "embedded_ids": tally.embedded_ids[:MAX_LISTED_IDS],
            "deleted_ids": plan.deleted[:MAX_LISTED_IDS],
            "skipped": {k: v["reason"] for k, v in list(skipped.items())[:MAX_LISTED_IDS]},
            "embedding_dtype": resolve_dtype(cfg.embedding),
        },
        message=message,
    )
