"""The feature step on real engines (montydb, LanceDB, MiniLM): chunks per document, filters, and incremental runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from twin_core.domain import ArticleDocument, Author, PostDocument, RawDocument, RepositoryDocument
from twin_core.features.chunking import chunk_document
from twin_core.features.cleaning import clean_document
from twin_core.features.corpus import load_corpus
from twin_core.features.embedding import Embedder
from twin_core.features.pipeline import run_features
from twin_core.features.tokens import load_token_counter
from twin_core.vectorstore import SearchFilters, open_store
from twin_core.warehouse import Warehouse, connect

pytestmark = pytest.mark.integration

ADA, BEA, CY = Author(full_name="Ada Lovelace"), Author(full_name="Beatriz O'Neill"), Author(full_name="Cy Twombly")


def _by(author: Author) -> dict[str, str]:
    return {"author_id": author.id, "author_name": author.full_name}


ARTICLE = """# Backfills

Backfills are easy if the pipeline was built for them. It's all about idempotency.

## Estimate first

Before running anything I work out three numbers. See https://example.org/estimates?x=1 for the sheet.

```sql
SELECT COUNT(*) FROM raw.orders;
```

## Run in slices

Newest first, one month at a time, and check the numbers before carrying on.
"""


def _docs() -> list[RawDocument]:
    return [
        ArticleDocument(platform="medium", link="https://medium.com/@ada/backfills", title="Backfills",
                        content={"subtitle": "Rewriting history", "body": ARTICLE}, **_by(ADA)),
        ArticleDocument(platform="substack", link="https://ada.substack.com/p/on-call", title="On call",
                        content={"body": "Notes from on-call.\n\nFollow\n\nNothing paged twice."}, **_by(ADA)),
        PostDocument(platform="linkedin", link="https://linkedin.com/feed/update/1", title="",
                     content={"text": "Gerald turned seven 🍞 and the starter's still going.\n#sourdough"}, **_by(BEA)),
        PostDocument(platform="linkedin", link="https://linkedin.com/feed/update/2", title="",
                     content={"text": "Hi!"}, **_by(BEA)),
        RepositoryDocument(platform="github", link="https://github.com/cy/hedgerow", title="cy/hedgerow",
                           content={"hedgerow/gate.py": "def gate(rows):\n    return [r for r in rows if r]\n",
                                    "README.md": "# hedgerow\n\nSmall checks for rows of data.\n"}, **_by(CY)),
    ]  # fmt: skip


def _setup(make_settings: Callable[..., Any], docs: list[RawDocument], *overrides: str) -> Any:
    cfg = make_settings(*overrides)
    with connect(cfg.warehouse) as wh:
        wh.upsert_documents(docs)
    return cfg


def _stored(cfg: Any) -> dict[str, set[str]]:
    store = open_store(cfg.vector_store)
    try:
        return store.chunk_ids_by_document()
    finally:
        store.close()


def _expected_ids(cfg: Any, raw: RawDocument) -> set[str]:
    counter = load_token_counter(cfg.embedding)
    cleaned = clean_document(raw, cfg.cleaning)
    return {c.id for c in chunk_document(cleaned, cfg.chunking, counter, cfg.chunking.max_tokens)}


def test_incremental_runs_embed_only_what_changed(make_settings: Callable[..., Any]) -> None:
    docs = _docs()
    cfg = _setup(make_settings, docs)
    first = run_features(cfg)
    assert first.counts["documents_new"] == 5 and first.counts["documents_skipped"] == 1, first.counts
    assert first.counts["embedded_documents"] == 4
    with connect(cfg.warehouse) as wh:
        cleaned = wh.find_cleaned()
        assert {c.id for c in cleaned} == {d.id for d in docs if d.content != {"text": "Hi!"}}
    stored = _stored(cfg)
    for c in cleaned:
        assert stored[c.id] == _expected_ids(cfg, next(d for d in docs if d.id == c.id)), c.link
    assert sum(map(len, stored.values())) == first.counts["chunks_total"] == first.counts["chunks_written"]

    second = run_features(cfg)
    assert second.counts["embedded_documents"] == 0 and second.counts["chunks_written"] == 0
    assert second.counts["documents_unchanged"] == 5 and second.message.startswith("no change")

    body = ARTICLE.replace("three numbers", "four numbers")
    edited = ArticleDocument(
        **{**docs[0].model_dump(exclude={"content_hash"}), "content": {**docs[0].content, "body": body}}
    )
    assert edited.id == docs[0].id and edited.content_hash != docs[0].content_hash
    with connect(cfg.warehouse) as wh:
        wh.upsert_documents([edited])
    third = run_features(cfg)
    assert third.counts["documents_changed"] == 1 and third.counts["embedded_documents"] == 1
    assert third.details["embedded_ids"] == [edited.id]
    after = _stored(cfg)
    assert after[edited.id] == _expected_ids(cfg, edited), "no stale chunk of the edited document"
    assert third.counts["chunks_deleted"] == len(stored[edited.id] - after[edited.id]) > 0
    assert {k: v for k, v in after.items() if k != edited.id} == {k: v for k, v in stored.items() if k != edited.id}

    with connect(cfg.warehouse) as wh:
        wh.delete_documents([docs[4].id])
    fourth = run_features(cfg)
    assert fourth.counts["documents_deleted"] == 1 and fourth.counts["embedded_documents"] == 0
    assert docs[4].id not in _stored(cfg)
    with connect(cfg.warehouse) as wh:
        assert docs[4].id not in {c.id for c in wh.find_cleaned()}


def test_filtered_query_returns_only_that_authors_chunks(make_settings: Callable[..., Any]) -> None:
    cfg = _setup(make_settings, _docs())
    run_features(cfg)
    vector = Embedder(cfg.embedding).embed_query("how do I run a backfill safely?")
    store = open_store(cfg.vector_store)
    try:
        for author in (ADA, BEA, CY):
            hits = store.search(vector, k=50, filters=SearchFilters(author_id=author.id))
            assert hits and {h.chunk.author_id for h in hits} == {author.id}
            assert len(hits) == store.count(SearchFilters(author_id=author.id))
        best = store.search(vector, k=1)[0].chunk
        assert best.author_id == ADA.id and best.link == "https://medium.com/@ada/backfills"
    finally:
        store.close()


def test_a_crash_midway_is_repaired_by_the_next_run(
    make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _setup(make_settings, _docs(), "embedding.pipeline_batch=1")

    def crash(self: Warehouse, docs: Any) -> Any:
        raise RuntimeError("killed after the vectors were written")

    monkeypatch.setattr(Warehouse, "upsert_cleaned", crash)
    with pytest.raises(RuntimeError, match="killed"):
        run_features(cfg)
    monkeypatch.undo()
    assert _stored(cfg), "vectors of the first batch were written before the crash"
    repaired = run_features(cfg)
    assert repaired.counts["embedded_documents"] == 4
    stored = _stored(cfg)
    assert sum(map(len, stored.values())) == repaired.counts["chunks_total"], "upserts by id: no duplicates"
    assert run_features(cfg).counts["embedded_documents"] == 0


def test_new_chunking_settings_refresh_every_document(make_settings: Callable[..., Any]) -> None:
    docs = _docs()
    cfg = _setup(make_settings, docs)
    run_features(cfg)
    smaller = make_settings("chunking.chunk_size=80", "chunking.chunk_overlap=10")
    result = run_features(smaller)
    assert result.counts["documents_refreshed"] == 5 and result.counts["embedded_documents"] == 4
    stored = _stored(smaller)
    assert stored[docs[0].id] == _expected_ids(smaller, docs[0])


def test_demo_corpus_every_cleaned_document_has_chunks(make_settings: Callable[..., Any]) -> None:
    from twin_core.cli import main

    docs = load_corpus()
    cfg = _setup(make_settings, docs)
    assert main(["pipeline=feature", f"paths.data_dir={cfg.paths.data_dir}"]) == 0
    stored = _stored(cfg)
    with connect(cfg.warehouse) as wh:
        cleaned = wh.find_cleaned()
    assert len(cleaned) == len(docs) and all(stored.get(c.id) for c in cleaned)
    assert {c.category.value for c in cleaned} == {"article", "post", "code"}
    again = run_features(cfg)
    assert again.counts["embedded_documents"] == 0 and again.counts["documents_unchanged"] == len(docs)


def test_embedder_keeps_input_order_and_bf16_matches_the_reference(make_settings: Callable[..., Any]) -> None:
    import numpy as np

    from twin_core.features.embedding import cosine

    cfg = make_settings()
    texts = ["a", "a much longer text about backfills and idempotent pipelines", "Gerald the starter 🍞", "x"]
    reference = Embedder(cfg.embedding.model_copy(update={"dtype": "float32", "batch_size": 2}))
    batched = reference.embed(texts)
    one_by_one = np.stack([reference.embed([t])[0] for t in texts])
    assert batched.shape == (4, 384) and batched.dtype == np.float32
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert cosine(batched, one_by_one).min() > 0.9999, "length sorting never reorders the output"
    fast = Embedder(cfg.embedding.model_copy(update={"dtype": "bfloat16"})).embed(texts)
    assert cosine(batched, fast).min() >= 0.99
