"""One contract for every vector store backend: LanceDB always, Weaviate when WEAVIATE_URL names a server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from twin_core.domain.chunks import Chunk, EmbeddedChunk
from twin_core.vectorstore import EmbeddingMismatchError, SearchFilters, VectorStore, VectorStoreSettings, open_store

pytestmark = pytest.mark.integration

MODEL, DIM, DOCS, CHUNKS_PER_DOC = "test/random-16", 16, 30, 10
AUTHORS = [("author-ada", "Ada Lovelace"), ("author-obrien", "O'Brien"), ("author-grace", "Grace Hopper")]
CATEGORIES, PLATFORMS = ["article", "post", "code"], ["medium", "linkedin", "github", "substack"]
PLANTED_WORD = "zyzzogeton"
WORDS = ["vector", "store", "search", "model", "data", "train", "retrieve", "chunk", "embed", "write", "style", "rank"]

BACKENDS = [
    pytest.param("lancedb", id="lancedb"),
    pytest.param(
        "weaviate",
        id="weaviate",
        marks=[
            pytest.mark.server,
            pytest.mark.skipif(
                not os.environ.get("WEAVIATE_URL"), reason="WEAVIATE_URL not set: Weaviate contract suite skipped"
            ),
        ],
    ),
]


def _make_chunks() -> list[EmbeddedChunk]:
    """300 chunks with unit-norm random vectors; doc-7 chunk 3 carries the planted word."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(DOCS * CHUNKS_PER_DOC, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = []
    for d in range(DOCS):
        author_id, author_name = AUTHORS[d % 3]
        for p in range(CHUNKS_PER_DOC):
            words = list(rng.choice(WORDS, size=8)) + ([PLANTED_WORD] if (d, p) == (7, 3) else [])
            chunks.append(
                EmbeddedChunk(
                    document_id=f"doc-{d}",
                    author_id=author_id,
                    author_name=author_name,
                    category=CATEGORIES[(d // 3) % 3],
                    platform=PLATFORMS[d % 4],
                    link=f"https://example.com/{d}",
                    position=p,
                    content=" ".join(words),
                    metadata={"title": f"Doc {d}", "quote": "it's"},
                    embedding=vectors[d * CHUNKS_PER_DOC + p].tolist(),
                    embedding_model=MODEL,
                )
            )
    return chunks


CHUNKS = _make_chunks()
PLANTED = next(c for c in CHUNKS if PLANTED_WORD in c.content)


def _brute_force(query: np.ndarray, k: int, filters: SearchFilters | None) -> list[tuple[str, float]]:
    """Exact cosine top-k in numpy over the chunks that pass the filters."""
    conds = dict(filters.conditions()) if filters else {}
    kept = [c for c in CHUNKS if all(str(getattr(c, f)) in allowed for f, allowed in conds.items())]
    matrix = np.array([c.embedding for c in kept], dtype=np.float32).astype(np.float64)
    sims = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    order = np.argsort(-sims, kind="stable")[:k]
    return [(kept[i].id, float(sims[i])) for i in order]


@pytest.fixture(params=BACKENDS)
def open_fresh(
    request: pytest.FixtureRequest, make_settings: Callable[..., object]
) -> Iterator[Callable[[], VectorStore]]:
    """Opens stores on one new, uniquely named collection (the real config, shrunk); drops it afterwards."""
    overrides = [f"vector_store={request.param}", f"vector_store.collection=Contract{uuid.uuid4().hex[:12]}"]
    if request.param == "weaviate" and os.environ.get("WEAVIATE_GRPC_PORT"):
        overrides.append(f"vector_store.grpc_port={os.environ['WEAVIATE_GRPC_PORT']}")
    settings: VectorStoreSettings = make_settings(*overrides).vector_store
    opened: list[VectorStore] = []

    def _open() -> VectorStore:
        opened.append(open_store(settings))
        return opened[-1]

    yield _open
    cleaner = open_store(settings)
    cleaner.drop_collection()
    cleaner.close()
    for store in opened:
        store.close()


@pytest.fixture
def store(open_fresh: Callable[[], VectorStore]) -> VectorStore:
    """A store holding the 300 test chunks."""
    s = open_fresh()
    s.ensure_collection(MODEL, DIM)
    assert s.upsert(CHUNKS) == len(CHUNKS)
    return s


def test_upserting_twice_leaves_count_unchanged(store: VectorStore) -> None:
    assert store.upsert(CHUNKS) == len(CHUNKS)
    assert store.count() == len(CHUNKS)
    info = store.info()
    assert info is not None and (info.embedding_model, info.dimension, info.count) == (MODEL, DIM, len(CHUNKS))


@pytest.mark.parametrize(
    "filters",
    [
        None,
        SearchFilters(author_name="O'Brien"),
        SearchFilters(category=["article", "code"]),
        SearchFilters(platform="github"),
        SearchFilters(author_id="author-obrien", category=["post", "code"], platform=["medium", "github"]),
    ],
    ids=["none", "author-quote", "category-list", "platform", "combined"],
)
def test_filtered_top_k_equals_numpy_brute_force(store: VectorStore, filters: SearchFilters | None) -> None:
    rng = np.random.default_rng(11)
    for _ in range(3):
        query = rng.normal(size=DIM)
        expected = _brute_force(query, 10, filters)
        hits = store.search(query.tolist(), 10, filters)
        assert [h.chunk.id for h in hits] == [cid for cid, _ in expected]
        assert [h.score for h in hits] == pytest.approx([s for _, s in expected], abs=1e-5)
        assert {h.source for h in hits} == {"vector"}
    assert store.count(filters) == len(_brute_force(np.ones(DIM), len(CHUNKS), filters))


def test_hits_carry_the_chunk_without_embedding(store: VectorStore) -> None:
    hit = store.search(PLANTED.embedding, 1)[0]
    assert hit.score == pytest.approx(1.0, abs=1e-5)
    assert hit.chunk == Chunk(**PLANTED.model_dump(exclude={"embedding", "embedding_model"}))


def test_empty_filter_list_matches_nothing(store: VectorStore) -> None:
    assert store.count(SearchFilters(document_id=[])) == 0
    assert store.search(PLANTED.embedding, 5, SearchFilters(platform=[])) == []


def test_delete_by_document_removes_exactly_that_document(store: VectorStore) -> None:
    assert store.delete_by_document(["doc-3"]) == CHUNKS_PER_DOC
    assert store.count(SearchFilters(document_id="doc-3")) == 0
    assert store.count() == len(CHUNKS) - CHUNKS_PER_DOC
    remaining = store.chunk_ids_by_document()
    assert "doc-3" not in remaining
    assert sum(len(ids) for ids in remaining.values()) == len(CHUNKS) - CHUNKS_PER_DOC
    assert store.delete_by_document(["doc-3", "no-such-doc"]) == 0


def test_reopening_the_store_gives_the_same_count_and_results(
    store: VectorStore, open_fresh: Callable[[], VectorStore]
) -> None:
    query = np.random.default_rng(3).normal(size=DIM).tolist()
    before = [(h.chunk.id, h.score) for h in store.search(query, 10, SearchFilters(author_name="O'Brien"))]
    store.close()
    reopened = open_fresh()
    assert reopened.info() == reopened.ensure_collection(MODEL, DIM)
    assert reopened.count() == len(CHUNKS)
    after = [(h.chunk.id, h.score) for h in reopened.search(query, 10, SearchFilters(author_name="O'Brien"))]
    assert after == before


def test_embedding_model_or_dimension_mismatch_is_refused(
    store: VectorStore, open_fresh: Callable[[], VectorStore]
) -> None:
    other = open_fresh()
    with pytest.raises(EmbeddingMismatchError, match=rf"{MODEL}.*other/model"):
        other.ensure_collection("other/model", DIM)
    with pytest.raises(EmbeddingMismatchError, match=rf"dimension {DIM}.*dimension 32"):
        other.ensure_collection(MODEL, 32)
    foreign = PLANTED.model_copy(update={"embedding_model": "other/model"})
    with pytest.raises(EmbeddingMismatchError, match=rf"{MODEL}.*other/model"):
        store.upsert([foreign])
    with pytest.raises(EmbeddingMismatchError, match="dimension 8"):
        store.search([0.1] * 8, 3)
    assert store.count() == len(CHUNKS)


def test_keyword_search_finds_the_planted_word_and_follows_updates(store: VectorStore) -> None:
    hits = store.keyword_search(PLANTED_WORD, 5)
    assert [h.chunk.id for h in hits] == [PLANTED.id]
    assert hits[0].source == "keyword" and hits[0].score > 0
    assert [h.chunk.id for h in store.keyword_search(PLANTED_WORD, 5, SearchFilters(author_name="O'Brien"))] == [
        PLANTED.id
    ]
    assert store.keyword_search(PLANTED_WORD, 5, SearchFilters(author_name="Ada Lovelace")) == []
    late = PLANTED.model_copy(update={"id": "late-chunk", "position": 99, "content": "a quokkaword arrives late"})
    store.upsert([late, PLANTED.model_copy(update={"content": "rewritten without the word"})])
    assert [h.chunk.id for h in store.keyword_search("quokkaword", 5)] == ["late-chunk"]
    assert store.keyword_search(PLANTED_WORD, 5) == []


def test_hybrid_ranks_the_planted_chunk_first_when_both_signals_agree(store: VectorStore) -> None:
    query = (np.array(PLANTED.embedding) + np.random.default_rng(5).normal(scale=0.05, size=DIM)).tolist()
    hits = store.hybrid_search(f"{PLANTED_WORD} model", query, 5)
    assert hits[0].chunk.id == PLANTED.id
    assert len(hits) == 5 and {h.source for h in hits} == {"hybrid"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    filtered = store.hybrid_search(PLANTED_WORD, query, 5, SearchFilters(author_name="Ada Lovelace"))
    assert filtered and PLANTED.id not in {h.chunk.id for h in filtered}


def test_chunk_ids_by_document(store: VectorStore) -> None:
    expected: dict[str, set[str]] = {}
    for c in CHUNKS:
        expected.setdefault(c.document_id, set()).add(c.id)
    assert store.chunk_ids_by_document() == expected
    subset = store.chunk_ids_by_document(["doc-1", "doc-2", "no-such-doc"])
    assert subset == {"doc-1": expected["doc-1"], "doc-2": expected["doc-2"]}


def test_lancedb_folds_new_rows_into_the_fts_index(tmp_path: Path) -> None:
    from twin_core.vectorstore.lance import FTS_INDEX, LanceVectorStore

    store = LanceVectorStore(tmp_path, "Fts", fts_reindex_rows=1)
    store.ensure_collection(MODEL, DIM)
    store.upsert(CHUNKS[:50])
    stats = store._table.index_stats(FTS_INDEX)
    assert (stats.num_indexed_rows, stats.num_unindexed_rows) == (50, 0)
    assert [h.chunk.id for h in store.keyword_search(PLANTED_WORD, 3)] == []
    store.upsert([PLANTED])
    assert store._table.index_stats(FTS_INDEX).num_unindexed_rows == 0
    assert [h.chunk.id for h in store.keyword_search(PLANTED_WORD, 3)] == [PLANTED.id]
