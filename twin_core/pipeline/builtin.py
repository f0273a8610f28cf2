"""Built-in steps that every pipeline can use: prepare the stores, and report what they hold."""

from __future__ import annotations

from twin_core.config.loader import TwinSettings
from twin_core.domain.documents import Author
from twin_core.domain.results import StepResult
from twin_core.vectorstore import open_store
from twin_core.warehouse import connect


def _where(cfg: TwinSettings) -> dict[str, str]:
    wh = str(cfg.warehouse.path) if cfg.warehouse.engine == "embedded" else "mongodb"
    vs = str(cfg.vector_store.path) if cfg.vector_store.backend == "lancedb" else str(cfg.vector_store.url)
    return {"warehouse": wh, "vector_store": vs}


def run_init(cfg: TwinSettings) -> StepResult:
    """Create directories, warehouse indexes, the declared authors and the vector collection (idempotent)."""
    with connect(cfg.warehouse) as wh:
        wh.ensure_indexes()
        for spec in cfg.sources.authors:
            wh.upsert_author(Author(full_name=spec.full_name, handle=spec.handle))
        n_authors = len(wh.list_authors())
    store = open_store(cfg.vector_store)
    try:
        info = store.ensure_collection(cfg.embedding.model_id, cfg.embedding.dimension)
    finally:
        store.close()
    return StepResult(
        step="init",
        counts={"authors": n_authors, "chunks": info.count},
        artifacts=_where(cfg),
        message=f"collection {info.name} ({info.embedding_model}, dim {info.dimension})",
    )


def run_status(cfg: TwinSettings) -> StepResult:
    """Count what every store holds; changes nothing."""
    with connect(cfg.warehouse) as wh:
        counts = dict(wh.counts())
    store = open_store(cfg.vector_store)
    try:
        info = store.info()
        counts["chunks"] = info.count if info else 0
    finally:
        store.close()
    return StepResult(step="status", counts=counts, artifacts=_where(cfg))
