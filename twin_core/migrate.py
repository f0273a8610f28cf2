"""``twin migrate``: copy the embedded stores (montydb warehouse, LanceDB vectors) into MongoDB and Weaviate.

    MONGODB_URI=mongodb://host:27017/?replicaSet=rs0 WEAVIATE_URL=http://host:8080 twin migrate
    twin migrate warehouse.uri=mongodb://host:27017 vector_store.url=http://host:8080 paths.data_dir=/data/twin

Idempotent: warehouse documents are compared by value and only new or changed ones are written (upserts by
``_id``); chunks are copied by id (ids come from document, position and content), so a re-run copies nothing.
Each run logs progress per batch and prints (and saves under ``<reports_dir>/migrate/``) a short report.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin_core.vectorstore.settings import VectorStoreSettings
from twin_core.warehouse.settings import WarehouseSettings

log = logging.getLogger("twin.migrate")
BATCH = 500
Progress = Callable[[str, int, int], None]


@dataclass
class CopyReport:
    """What one collection's copy did: written as new, rewritten because different, left as they were."""

    total: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class MigrationReport:
    """Per-collection outcomes of the warehouse and the vector store, with where they went."""

    warehouse: dict[str, CopyReport] = field(default_factory=dict)
    vectors: CopyReport | None = None
    targets: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as text, one line per collection."""
        out = [f"  {what:<14} -> {where}" for what, where in self.targets.items()]
        for name, r in self.warehouse.items():
            counts = f"{r.new} new, {r.updated} updated, {r.unchanged} same"
            out.append(f"  warehouse {name:<22} {r.total:>7} docs: {counts}")
        if self.vectors is not None:
            v = self.vectors
            out.append(f"  vectors {'chunks':<24} {v.total:>7} chunks: {v.new} copied, {v.unchanged} already there")
        return out + [f"  skipped: {s}" for s in self.skipped]


def _log_progress(what: str, done: int, total: int) -> None:
    log.info("%s: %d/%d", what, done, total)


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _existing(target: Any, name: str, ids: list[Any], cache: dict[Any, Any] | None) -> dict[Any, Any]:
    """Target documents with these ids: by ``$in`` where the engine indexes, else from one scan (``cache``)."""
    if cache is not None:
        return {i: cache[i] for i in ids if i in cache}
    return {d["_id"]: d for d in target.collection(name).find({"_id": {"$in": ids}})}


def _write(target: Any, name: str, docs: list[dict[str, Any]]) -> None:
    from pymongo import ReplaceOne

    col = target.collection(name)
    if target.traits.bulk_write:
        col.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False)
        return
    for doc in docs:
        col.replace_one({"_id": doc["_id"]}, doc, upsert=True)


def copy_warehouse(
    source: WarehouseSettings, target: WarehouseSettings, *, batch: int = BATCH, progress: Progress = _log_progress
) -> dict[str, CopyReport]:
    """Copy every collection document by document (stored form, ids kept); only differing documents are written."""
    from twin_core.warehouse.engines import open_engine
    from twin_core.warehouse.repository import Warehouse

    src, dst = open_engine(source), open_engine(target)
    reports: dict[str, CopyReport] = {}
    try:
        for name in src.collection_names():
            col, report = src.collection(name), CopyReport()
            report.total = int(col.count_documents({}))
            cache = None if dst.traits.indexes else {d["_id"]: d for d in dst.collection(name).find({})}
            for docs in _batches(iter(col.find({})), batch):
                existing = _existing(dst, name, [d["_id"] for d in docs], cache)
                changed = [d for d in docs if existing.get(d["_id"]) != d]
                report.unchanged += len(docs) - len(changed)
                report.updated += sum(1 for d in changed if d["_id"] in existing)
                report.new += sum(1 for d in changed if d["_id"] not in existing)
                if changed:
                    _write(dst, name, changed)
                progress(f"warehouse {name}", report.new + report.updated + report.unchanged, report.total)
            reports[name] = report
        Warehouse(dst).ensure_indexes()  # the server's lookup indexes (a no-op on the embedded engine)
    finally:
        src.close()
        dst.close()
    return reports


def _lance_chunks(source: VectorStoreSettings, batch: int) -> tuple[tuple[str, int] | None, int, Iterator[Any]]:
    """(model id, dimension), row count and batches of EmbeddedChunks of the LanceDB table (nothing: None)."""
    from datetime import timedelta

    import lancedb

    from twin_core.domain.chunks import EmbeddedChunk
    from twin_core.vectorstore.base import CHUNK_FIELDS
    from twin_core.vectorstore.lance import LanceVectorStore

    store = LanceVectorStore(str(source.path), source.collection)
    info = store.info()
    if info is None:
        return None, 0, iter(())
    table = lancedb.connect(str(source.path), read_consistency_interval=timedelta(0)).open_table(source.collection)

    def rows() -> Iterator[list[EmbeddedChunk]]:
        for record_batch in table.to_arrow().to_batches(max_chunksize=batch):
            out = []
            for row in record_batch.to_pylist():
                fields = {k: row[k] for k in CHUNK_FIELDS} | {"metadata": json.loads(row["metadata"] or "{}")}
                out.append(EmbeddedChunk(**fields, embedding=row["vector"], embedding_model=row["embedding_model"]))
            yield out

    return (info.embedding_model, info.dimension), info.count, rows()


def copy_vectors(
    source: VectorStoreSettings, target: VectorStoreSettings, *, batch: int = 256, progress: Progress = _log_progress
) -> CopyReport:
    """Copy every chunk (vector, model id, lineage) the target does not hold yet, by chunk id."""
    from twin_core.vectorstore import open_store

    if source.backend != "lancedb":
        raise ValueError(f"vector_store.backend={source.backend!r}: twin migrate copies from LanceDB")
    stored, total, batches = _lance_chunks(source, batch)
    report = CopyReport(total=total)
    if stored is None:
        return report
    dst = open_store(target)
    try:
        dst.ensure_collection(*stored)  # refuses a collection made for another model or dimension
        present = {cid for ids in dst.chunk_ids_by_document(None).values() for cid in ids}
        for chunks in batches:
            missing = [c for c in chunks if c.id not in present]
            report.unchanged += len(chunks) - len(missing)
            report.new += dst.upsert(missing) if missing else 0
            progress("vectors", report.new + report.unchanged, total)
    finally:
        dst.close()
    return report


def _configured(overrides: Sequence[str], env: str, key: str) -> bool:
    return bool(os.environ.get(env)) or any(o.lstrip("+").startswith(f"{key}=") for o in overrides)


def migrate(overrides: Sequence[str] = ()) -> MigrationReport:
    """Compose the embedded source and the server targets, copy, and return the report."""
    from twin_core.config.loader import load_settings
    from twin_core.warehouse.engines import mask_uri

    source = load_settings(list(overrides))
    if source.warehouse.engine != "embedded" or source.vector_store.backend != "lancedb":
        raise ValueError(
            f"twin migrate copies the embedded stores; the composed config uses warehouse={source.warehouse.engine} "
            f"vector_store={source.vector_store.backend} (drop those group overrides, keep paths.data_dir)"
        )
    report = MigrationReport()
    if _configured(overrides, "MONGODB_URI", "warehouse.uri"):
        target = load_settings([*overrides, "warehouse=mongodb"]).warehouse
        report.targets["warehouse"] = mask_uri(str(target.uri))
        report.warehouse = copy_warehouse(source.warehouse, target)
    else:
        report.skipped.append("warehouse (set MONGODB_URI or warehouse.uri=mongodb://...)")
    if _configured(overrides, "WEAVIATE_URL", "vector_store.url"):
        target_vs = load_settings([*overrides, "vector_store=weaviate"]).vector_store
        report.targets["vector store"] = f"{target_vs.url} collection {target_vs.collection}"
        report.vectors = copy_vectors(source.vector_store, target_vs)
    else:
        report.skipped.append("vector store (set WEAVIATE_URL or vector_store.url=http://...)")
    if report.targets:
        folder = Path(source.paths.reports_dir) / "migrate"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (folder / f"migrate-{stamp}.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def main(overrides: Sequence[str] = ()) -> int:
    """Entry point of ``twin migrate``: 0 when something was copied or already there, 2 when no target is set."""
    from twin_core.warehouse.engines import WarehouseConnectionError

    try:
        report = migrate(overrides)
    except (ValueError, WarehouseConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not report.targets:
        print("nothing to migrate to: set MONGODB_URI and/or WEAVIATE_URL (or warehouse.uri= / vector_store.url=)")
        return 2
    print("twin migrate: embedded stores copied\n" + "\n".join(report.lines()))
    return 0
