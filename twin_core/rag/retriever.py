"""The retrieval pipeline: self-query -> query expansion -> filtered vector/hybrid search per query -> dedupe ->
rerank (cross-encoder, or reciprocal rank fusion across the queries' rankings) -> top-k. Each stage switchable."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from twin_core.domain.documents import Author
from twin_core.rag.expansion import llm_queries, prf_queries
from twin_core.rag.self_query import SelfQuery, combine_filters, extract_filters
from twin_core.rag.settings import RagSettings, RerankSettings
from twin_core.vectorstore.base import Hit, SearchFilters, VectorStore
from twin_core.vectorstore.fusion import reciprocal_rank_fusion

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.rag")
#: Chunks of one document whose word 3-gram sets overlap at least this much (Jaccard) are the same passage.
NEAR_DUPLICATE_JACCARD = 0.9


@dataclass
class Retrieval:
    """What retrieval found for one question, and how (queries searched, filters, per-stage seconds)."""

    query: str
    queries: list[str]
    filters: SearchFilters | None
    self_query: SelfQuery | None
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def dedupe(hits: Sequence[Hit], threshold: float = NEAR_DUPLICATE_JACCARD) -> tuple[list[Hit], int]:
    """Hits in order without repeats: the same chunk id, or near-identical content from the same document
    (word 3-gram Jaccard >= ``threshold``); the first (best-ranked) copy stays. Returns (kept, dropped)."""
    kept: list[Hit] = []
    ids: set[str] = set()
    by_doc: dict[str, list[set[tuple[str, ...]]]] = {}
    for hit in hits:
        chunk = hit.chunk
        if chunk.id in ids:
            continue
        grams = _shingles(chunk.content)
        same_doc = by_doc.setdefault(chunk.document_id, [])
        if any(len(grams & g) / max(len(grams | g), 1) >= threshold for g in same_doc):
            continue
        ids.add(chunk.id)
        same_doc.append(grams)
        kept.append(hit)
    return kept, len(hits) - len(kept)


def fuse(rankings: Sequence[Sequence[Hit]], rrf_k: int = 60) -> list[Hit]:
    """Reciprocal rank fusion of several rankings into one, scored by the fused RRF score."""
    chunks = {h.chunk.id: h.chunk for ranking in rankings for h in ranking}
    fused = reciprocal_rank_fusion([[h.chunk.id for h in r] for r in rankings], k=rrf_k)
    return [Hit(chunks[cid], score, "rrf") for cid, score in fused]


@lru_cache(maxsize=2)
def load_cross_encoder(model: str) -> Any:
    """A sentence-transformers CrossEncoder (local folder or hub id; offline unless HF_HUB_OFFLINE=0), cached."""
    try:
        from sentence_transformers import CrossEncoder

        return CrossEncoder(model, device="cpu")
    except Exception as exc:
        raise RuntimeError(
            f"rag.rerank.model={model!r} cannot be loaded as a sentence-transformers CrossEncoder: {exc}"
        ) from exc


def cross_encode(query: str, hits: Sequence[Hit], settings: RerankSettings) -> list[Hit]:
    """Hits ordered by the cross-encoder's relevance score for (query, chunk content)."""
    if not hits:
        return []
    assert settings.model
    model = load_cross_encoder(settings.model)
    scores = model.predict(
        [(query, h.chunk.content) for h in hits], batch_size=settings.batch_size, show_progress_bar=False
    )
    scored = [Hit(h.chunk, float(s), "cross_encoder") for h, s in zip(hits, scores, strict=True)]
    return sorted(scored, key=lambda h: -h.score)


class Retriever:
    """Runs the configured retrieval stages on one vector store."""

    def __init__(
        self,
        rag: RagSettings,
        store: VectorStore,
        embed_query: Callable[[str], list[float]],
        authors: Callable[[], Sequence[Author]] | None = None,
        llm: Any = None,
    ) -> None:
        self.rag, self.store, self.embed_query = rag, store, embed_query
        self.authors = authors or (lambda: [])
        self.llm = llm

    @classmethod
    def from_settings(cls, cfg: TwinSettings) -> Retriever:
        """The store, embedder and warehouse authors of ``cfg``; the LLM only when a stage is set to use it."""
        from twin_core.features.embedding import Embedder
        from twin_core.vectorstore import open_store

        embedder = Embedder(cfg.embedding)
        uses_llm = cfg.rag.query_expansion.method == "llm" or (
            cfg.rag.self_query.enabled and cfg.rag.self_query.method == "llm"
        )
        llm = None
        if uses_llm:
            from twin_core.llm import make_client

            llm = make_client(cfg.llm)
        return cls(cfg.rag, open_store(cfg.vector_store), embedder.embed_query, warehouse_authors(cfg), llm)

    # stages

    def _search(self, query: str, k: int, filters: SearchFilters | None) -> list[Hit]:
        vector = self.embed_query(query)
        s = self.rag.search
        if s.mode == "hybrid":
            return self.store.hybrid_search(query, vector, k, filters, alpha=s.alpha)
        return self.store.search(vector, k, filters)

    def _expand(self, query: str, first: list[Hit], notes: list[str]) -> list[str]:
        e = self.rag.query_expansion
        if e.method == "none" or e.expansions <= 1:
            return []
        if e.method == "llm":
            if self.llm is None:
                notes.append("query_expansion.method=llm without an LLM client; used pseudo-relevance feedback")
            else:
                try:
                    return llm_queries(query, e, self.llm)
                except Exception as exc:  # an LLM failure must not fail the request
                    log.warning("query expansion by LLM failed, using PRF: %s", exc)
                    notes.append(f"query expansion by LLM failed ({type(exc).__name__}); used PRF")
        texts = [h.chunk.content for h in first]
        return prf_queries(query, texts[: e.prf_docs], texts, e)

    def _rerank(self, query: str, rankings: list[list[Hit]], notes: list[str]) -> list[Hit]:
        r = self.rag.rerank
        if r.method == "cross_encoder":
            merged, dropped = dedupe([h for ranking in rankings for h in ranking])
            if dropped:
                notes.append(f"dedupe dropped {dropped}")
            return cross_encode(query, merged, r)
        if r.method == "rrf" and len(rankings) > 1:
            merged = fuse(rankings, r.rrf_k)
        else:  # one ranking, or rerank off: first-seen order across the queries
            merged = [h for ranking in rankings for h in ranking]
        kept, dropped = dedupe(merged)
        if dropped:
            notes.append(f"dedupe dropped {dropped}")
        return kept

    def retrieve(self, query: str, filters: SearchFilters | None = None, k: int | None = None) -> Retrieval:
        """The top ``k`` (default ``rag.top_k``) chunks for ``query`` within ``filters`` and the self-query's."""
        t0 = time.perf_counter()
        k = k or self.rag.top_k
        notes: list[str] = []
        timings: dict[str, float] = {}
        sq: SelfQuery | None = None
        if self.rag.self_query.enabled:
            sq = extract_filters(query, self.rag.self_query, self.authors(), self.llm)
            notes += sq.notes
        timings["self_query_s"] = time.perf_counter() - t0
        combined = combine_filters(filters, sq.filters if sq else None)
        if combined is not None and combined.matches_nothing():
            notes.append("the request's filters and the question's contradict each other; nothing can match")
            timings |= {"expansion_s": 0.0, "search_s": 0.0, "rerank_s": 0.0, "total_s": time.perf_counter() - t0}
            return Retrieval(query, [query], combined, sq, [], timings, notes)
        per_query = max(self.rag.search.k_per_query, k)
        t = time.perf_counter()
        first = self._search(query, per_query, combined)
        search_s = time.perf_counter() - t
        t = time.perf_counter()
        extra = self._expand(query, first, notes)
        timings["expansion_s"] = time.perf_counter() - t
        t = time.perf_counter()
        rankings = [first, *(self._search(q, per_query, combined) for q in extra)]
        timings["search_s"] = search_s + time.perf_counter() - t
        t = time.perf_counter()
        hits = self._rerank(query, rankings, notes)[:k]
        timings["rerank_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - t0
        log.info(
            "retrieved query_chars=%d queries=%d filters=%s hits=%d total_s=%.3f",
            len(query),
            1 + len(extra),
            combined.conditions() if combined else [],
            len(hits),
            timings["total_s"],
            extra={"queries": 1 + len(extra), "hits": len(hits), "timings": timings},
        )
        return Retrieval(query, [query, *extra], combined, sq, hits, timings, notes)

    def close(self) -> None:
        self.store.close()


def warehouse_authors(cfg: TwinSettings, ttl_s: float = 30.0) -> Callable[[], list[Author]]:
    """A reader of the warehouse's authors, cached ``ttl_s`` seconds (the warehouse is opened per read)."""
    from twin_core.warehouse.repository import connect

    lock = threading.Lock()
    cache: dict[str, Any] = {"at": -1e18, "authors": []}

    def read() -> list[Author]:
        with lock:
            if time.monotonic() - cache["at"] > ttl_s:
                try:
                    with connect(cfg.warehouse) as wh:
                        cache["authors"] = wh.list_authors()
                except Exception as exc:  # no warehouse yet: self-query just finds no author
                    log.warning("self-query: cannot read authors from the warehouse: %s", exc)
                    cache["authors"] = []
                cache["at"] = time.monotonic()
            return list(cache["authors"])

    return read
