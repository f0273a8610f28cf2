"""The feature step: clean, chunk and embed new or changed raw documents into the feature and vector stores."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.progress import Progress

from twin_core.domain.chunks import Chunk, EmbeddedChunk
from twin_core.domain.documents import CleanedDocument, RawDocument
from twin_core.domain.results import StepResult
from twin_core.features.cdc import (
    SKIPPED_KEY,
    STATE_COLLECTION,
    ChangePlan,
    FeatureState,
    Featurised,
    feature_signature,
    featurised,
    plan_changes,
)
from twin_core.features.chunking import chunk_document
from twin_core.features.cleaning import clean_document
from twin_core.features.embedding import Embedder
from twin_core.features.report import Tally, progress_bar, step_result
from twin_core.features.tokens import load_token_counter
from twin_core.vectorstore import VectorStore, open_store
from twin_core.warehouse import Warehouse, connect

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger(__name__)
READ_PAGE = 64


@dataclass
class Item:
    """One document on its way through the step: cleaned, chunked, and whether it is skipped (too short)."""

    cleaned: CleanedDocument
    chunks: list[Chunk]
    skip: str = ""


def load_state(wh: Warehouse, store: VectorStore) -> FeatureState:
    """What earlier runs left: cleaned documents, skipped ones, and the chunk ids the vector store holds."""
    skipped_doc = wh.get(STATE_COLLECTION, SKIPPED_KEY) or {}
    skipped = {
        k: Featurised(v["raw_content_hash"], v["signature"], 0) for k, v in (skipped_doc.get("docs") or {}).items()
    }
    return FeatureState(
        cleaned={d.id: featurised(d) for d in wh.find_cleaned()},
        skipped=skipped,
        stored=store.chunk_ids_by_document(),
    )


def prepare(raw: RawDocument, cfg: TwinSettings, counter: Any, max_tokens: int, sig: str, tally: Tally) -> Item:
    """Clean and chunk one raw document; too short or chunkless documents come back marked as skipped."""
    with tally.timed("clean_s"):
        cleaned = clean_document(raw, cfg.cleaning)
    if len(cleaned.content.strip()) < max(1, cfg.cleaning.min_chars):
        return Item(cleaned, [], f"shorter than cleaning.min_chars ({cfg.cleaning.min_chars})")
    with tally.timed("chunk_s"):
        chunks = chunk_document(cleaned, cfg.chunking, counter, max_tokens)
    meta = {**cleaned.metadata, "features": {"signature": sig, "chunks": len(chunks)}}
    return Item(cleaned.model_copy(update={"metadata": meta}), chunks, "" if chunks else "no chunks")


def _write_vectors(store: VectorStore, drop: list[str], chunks: list[EmbeddedChunk], tally: Tally) -> None:
    """Remove the chunks of re-chunked documents whose old ids are not all reused, then upsert the new ones."""
    with tally.timed("write_vectors_s"):
        if drop:
            store.delete_by_document(drop)
        if chunks:
            store.upsert(chunks)


class Featurizer:
    """Embeds buffered items in batches; vectors are written in the background, cleaned docs after their vectors."""

    def __init__(self, cfg: TwinSettings, wh: Warehouse, store: VectorStore, state: FeatureState, tally: Tally):
        self.cfg, self.wh, self.store, self.state, self.tally = cfg, wh, store, state, tally
        self.embedder = Embedder(cfg.embedding)
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vector-writer")
        self.pending: tuple[Future[None], list[Item]] | None = None
        self.skipped: dict[str, dict[str, str]] = {}

    def flush(self, items: list[Item], progress: Progress, task: Any) -> None:
        """Embed the items' chunks, hand the vectors to the writer, then record the previous batch as done."""
        chunks = [c for it in items for c in it.chunks]
        with self.tally.timed("embed_s"):
            vectors = self.embedder.embed([c.content for c in chunks], lambda n: progress.advance(task, n))
        model = self.embedder.model_id
        embedded = [
            EmbeddedChunk(**c.model_dump(), embedding=v.tolist(), embedding_model=model)
            for c, v in zip(chunks, vectors, strict=True)
        ]
        drop = []
        for it in items:
            old = self.state.stored.get(it.cleaned.id, set())
            stale = old - {c.id for c in it.chunks}
            if stale:
                drop.append(it.cleaned.id)
                self.tally.counts["chunks_deleted"] += len(stale)
        self.tally.counts["chunks_written"] += len(embedded)
        future = self.writer.submit(_write_vectors, self.store, drop, embedded, self.tally)
        self._settle()
        self.pending = (future, items)

    def _settle(self) -> None:
        """Wait for the pending vector write, then mark its documents done in the feature store."""
        if self.pending is None:
            return
        future, items = self.pending
        self.pending = None
        with self.tally.timed("wait_writer_s"):
            future.result()
        with self.tally.timed("write_cleaned_s"):
            done = [it.cleaned for it in items if not it.skip]
            if done:
                self.wh.upsert_cleaned(done)
            gone = [it.cleaned.id for it in items if it.skip and it.cleaned.id in self.state.cleaned]
            if gone:
                self.wh.delete_cleaned(gone)
        for it in items:
            if it.skip:
                self.skipped[it.cleaned.id] = {"raw_content_hash": it.cleaned.raw_content_hash, "reason": it.skip}
            else:
                self.tally.embedded_ids.append(it.cleaned.id)

    def close(self) -> None:
        self._settle()
        self.writer.shutdown(wait=True)


def prepared_pages(
    wh: Warehouse, ids: Sequence[str], work: Callable[[RawDocument], Item], tally: Tally
) -> Iterator[list[Item]]:
    """Pages of prepared items, in order; page k+1 is cleaned and chunked in a helper thread while k is embedded.

    Only this (calling) thread touches the warehouse; the helper thread only runs ``work`` on documents.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feature-prepare") as helper:
        ahead: deque[Future[list[Item]]] = deque()
        for at in range(0, len(ids), READ_PAGE):
            with tally.timed("read_s"):
                page = wh.find_documents(ids=list(ids[at : at + READ_PAGE]))
            ahead.append(helper.submit(lambda docs=page: [work(raw) for raw in docs]))
            if len(ahead) > 1:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def process(
    cfg: TwinSettings,
    wh: Warehouse,
    store: VectorStore,
    ids: Sequence[str],
    state: FeatureState,
    sig: str,
    tally: Tally,
) -> dict[str, dict[str, str]]:
    """Clean, chunk, embed and store the documents ``ids``; returns the skipped ones (id -> hash and reason)."""
    max_tokens = min(cfg.chunking.max_tokens, cfg.embedding.max_seq_length)
    counter = load_token_counter(cfg.embedding)
    feat = Featurizer(cfg, wh, store, state, tally)
    with tally.timed("model_load_s"):
        _ = feat.embedder.model
    buffer: list[Item] = []
    buffered = 0
    try:
        with progress_bar() as progress:
            docs = progress.add_task("documents cleaned + chunked", total=len(ids))
            task = progress.add_task("chunks embedded", total=None)
            for items in prepared_pages(wh, ids, lambda raw: prepare(raw, cfg, counter, max_tokens, sig, tally), tally):
                progress.advance(docs, len(items))
                for item in items:
                    buffer.append(item)
                    buffered += len(item.chunks)
                    if buffered >= cfg.embedding.pipeline_batch:
                        feat.flush(buffer, progress, task)
                        buffer, buffered = [], 0
            if buffer:
                feat.flush(buffer, progress, task)
            progress.update(task, total=tally.counts["chunks_written"])
    finally:
        feat.close()
    return feat.skipped


def _save_skipped(
    wh: Warehouse, state: FeatureState, plan: ChangePlan, skipped: dict[str, dict[str, str]], sig: str
) -> None:
    """Persist the skipped documents (kept from earlier runs unless processed or deleted now)."""
    redone, deleted = set(plan.to_process), set(plan.deleted)
    docs = {
        k: {"raw_content_hash": v.raw_content_hash, "signature": v.signature}
        for k, v in state.skipped.items()
        if k not in redone and k not in deleted
    }
    docs.update({k: {**v, "signature": sig} for k, v in skipped.items()})
    if docs or state.skipped:
        wh.put(STATE_COLLECTION, SKIPPED_KEY, {"docs": docs})


def run_features(cfg: TwinSettings) -> StepResult:
    """Featurise what changed since the last run: new and changed documents in, deleted ones out."""
    t0, tally = time.perf_counter(), Tally()
    max_tokens = min(cfg.chunking.max_tokens, cfg.embedding.max_seq_length)
    sig = feature_signature(cfg.cleaning, cfg.chunking, cfg.embedding.model_id, max_tokens)
    with connect(cfg.warehouse) as wh:
        store = open_store(cfg.vector_store)
        try:
            store.ensure_collection(cfg.embedding.model_id, cfg.embedding.dimension)
            with tally.timed("plan_s"):
                raw = wh.document_hashes()
                state = load_state(wh, store)
                plan = plan_changes(raw, state, sig)
            with tally.timed("delete_s"):
                if plan.deleted:
                    tally.counts["chunks_deleted"] += store.delete_by_document(plan.deleted)
                    wh.delete_cleaned(plan.deleted)
            skipped = process(cfg, wh, store, plan.to_process, state, sig, tally) if plan.to_process else {}
            _save_skipped(wh, state, plan, skipped, sig)
            total_chunks = store.count()
        finally:
            store.close()
    return step_result(cfg, plan, tally, skipped, len(raw), total_chunks, time.perf_counter() - t0)
