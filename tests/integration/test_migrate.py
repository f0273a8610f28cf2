"""twin migrate: embedded -> embedded for real here; embedded -> MongoDB / Weaviate when their URLs are set."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_core.domain import Author, document_class_for
from twin_core.domain.chunks import EmbeddedChunk
from twin_core.migrate import copy_vectors, copy_warehouse, main
from twin_core.vectorstore import VectorStoreSettings, open_store
from twin_core.warehouse import WarehouseSettings, connect

pytestmark = pytest.mark.integration
MODEL, DIM = "test-model", 8
AUTHOR = Author(full_name="Ada Lovelace")


def _documents(n: int = 12, version: str = "v1") -> list[Any]:
    return [
        document_class_for("article")(
            platform="medium",
            link=f"https://example.com/ada/{i:02d}",
            author_id=AUTHOR.id,
            author_name=AUTHOR.full_name,
            title=f"Title {i}",
            content={"subtitle": f"part {i}", "body": f"# Article {i}\n\n{version} text {i}"},
            metadata={"source.url": f"https://example.com/{i}", "$tags": ["a"]},
            published_at=datetime(2024, 1, 1 + i, 9, 30, 0, 123000, tzinfo=UTC),
        )
        for i in range(n)
    ]


def _chunks(n_docs: int = 6, per_doc: int = 5) -> list[EmbeddedChunk]:
    rng = np.random.default_rng(3)
    out = []
    for d in range(n_docs):
        for p in range(per_doc):
            vector = rng.normal(size=DIM)
            out.append(
                EmbeddedChunk(
                    document_id=f"doc-{d}",
                    author_id=AUTHOR.id,
                    author_name=AUTHOR.full_name,
                    category="article",
                    platform="medium",
                    link=f"https://example.com/ada/{d:02d}",
                    position=p,
                    content=f"chunk {p} of document {d} about pipelines",
                    metadata={"title": f"Title {d}"},
                    embedding=(vector / np.linalg.norm(vector)).tolist(),
                    embedding_model=MODEL,
                )
            )
    return out


def _fill(warehouse: WarehouseSettings, vectors: VectorStoreSettings) -> list[EmbeddedChunk]:
    """A source: an author, raw and cleaned documents, a generic collection, and embedded chunks."""
    from twin_core.domain.documents import CleanedDocument

    with connect(warehouse) as wh:
        wh.upsert_author(AUTHOR)
        docs = _documents()
        wh.upsert_documents(docs)
        keep = set(CleanedDocument.model_fields) - {"content", "raw_content_hash"}
        wh.upsert_cleaned(
            [
                CleanedDocument(**d.model_dump(include=keep), content="clean", raw_content_hash=d.content_hash)
                for d in docs[:3]
            ]
        )
        report = {"links": {"https://example.com/a.b": "ok"}, "at": datetime(2024, 2, 1, tzinfo=UTC)}
        wh.put("crawl_reports", "r1", report)
    chunks = _chunks()
    store = open_store(vectors)
    store.ensure_collection(MODEL, DIM)
    store.upsert(chunks)
    store.close()
    return chunks


def _snapshot(settings: WarehouseSettings) -> dict[str, list[Any]]:
    with connect(settings) as wh:
        return {
            "authors": wh.list_authors(),
            "raw": wh.find_documents(),
            "cleaned": wh.find_cleaned(),
            "reports": wh.find("crawl_reports"),
            "counts": [wh.counts()],
        }


def test_embedded_to_embedded_copies_everything_once(tmp_path: Path) -> None:
    src_wh = WarehouseSettings(engine="embedded", path=tmp_path / "src" / "warehouse")
    dst_wh = WarehouseSettings(engine="embedded", path=tmp_path / "dst" / "warehouse")
    src_vs = VectorStoreSettings(backend="lancedb", path=tmp_path / "src" / "vectors")
    dst_vs = VectorStoreSettings(backend="lancedb", path=tmp_path / "dst" / "vectors")
    chunks = _fill(src_wh, src_vs)
    seen: list[tuple[str, int, int]] = []

    first = copy_warehouse(src_wh, dst_wh, batch=5, progress=lambda *a: seen.append(a))
    assert {k: (r.total, r.new, r.updated, r.unchanged) for k, r in first.items()} == {
        "authors": (1, 1, 0, 0),
        "cleaned_documents": (3, 3, 0, 0),
        "crawl_reports": (1, 1, 0, 0),
        "raw_documents": (12, 12, 0, 0),
    }
    assert ("warehouse raw_documents", 5, 12) in seen and ("warehouse raw_documents", 12, 12) in seen
    assert _snapshot(dst_wh) == _snapshot(src_wh)  # typed records, escaped keys and datetimes round-trip

    again = copy_warehouse(src_wh, dst_wh)
    assert all(r.new == r.updated == 0 and r.unchanged == r.total for r in again.values())

    with connect(src_wh) as wh:  # one document changes at the source: only it is written again
        wh.upsert_documents(_documents(1, version="v2"))
    third = copy_warehouse(src_wh, dst_wh)
    assert (third["raw_documents"].updated, third["raw_documents"].unchanged) == (1, 11)
    assert _snapshot(dst_wh) == _snapshot(src_wh)

    vectors = copy_vectors(src_vs, dst_vs, batch=7)
    assert (vectors.total, vectors.new, vectors.unchanged) == (30, 30, 0)
    assert copy_vectors(src_vs, dst_vs).new == 0
    dst = open_store(dst_vs)
    info = dst.info()
    assert info is not None and (info.embedding_model, info.dimension, info.count) == (MODEL, DIM, 30)
    query = chunks[7].embedding
    hits = dst.search(query, 3)
    assert hits[0].chunk.id == chunks[7].id and hits[0].chunk.metadata == {"title": "Title 1"}
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert dst.keyword_search("pipelines", 50) and len(dst.keyword_search("pipelines", 50)) == 30


def test_cli_without_targets_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from twin_core.cli import main as cli

    monkeypatch.delenv("MONGODB_URI", raising=False)
    monkeypatch.delenv("WEAVIATE_URL", raising=False)
    assert cli(["migrate", f"paths.data_dir={tmp_path}"]) == 2
    assert "set MONGODB_URI and/or WEAVIATE_URL" in capsys.readouterr().out
    assert main([f"paths.data_dir={tmp_path}", "warehouse=mongodb", "warehouse.uri=mongodb://x:1"]) == 2
    assert "copies the embedded stores" in capsys.readouterr().err


@pytest.mark.server
@pytest.mark.skipif(
    not (os.environ.get("MONGODB_URI") or os.environ.get("WEAVIATE_URL")),
    reason="MONGODB_URI and WEAVIATE_URL not set: migration into MongoDB / Weaviate not tested",
)
def test_migrate_into_servers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suffix = uuid.uuid4().hex[:8]
    database, collection = f"twin_migrate_{suffix}", f"TwinMigrate{suffix}"
    overrides = [f"paths.data_dir={tmp_path}", f"warehouse.database={database}"]
    overrides.append(f"vector_store.collection={collection}")
    src_wh = WarehouseSettings(engine="embedded", path=tmp_path / "warehouse", database=database)
    src_vs = VectorStoreSettings(backend="lancedb", path=tmp_path / "vectors", collection=collection)
    chunks = _fill(src_wh, src_vs)
    mongo = WarehouseSettings(engine="mongodb", uri=os.environ.get("MONGODB_URI"), database=database)
    weaviate = VectorStoreSettings(backend="weaviate", url=os.environ.get("WEAVIATE_URL"), collection=collection)
    try:
        assert main(overrides) == 0
        out = capsys.readouterr().out
        if mongo.uri:
            assert "raw_documents" in out and "12 new" in out
            assert _snapshot(mongo) == _snapshot(src_wh)
        if weaviate.url:
            assert "30 copied" in out
            store = open_store(weaviate)
            assert store.count() == 30 and store.search(chunks[4].embedding, 1)[0].chunk.id == chunks[4].id
            store.close()
        assert main(overrides) == 0  # the re-run copies nothing
        out = capsys.readouterr().out
        assert " 0 new, 0 updated" in out or not mongo.uri
        assert "0 copied, 30 already there" in out or not weaviate.url
    finally:
        if mongo.uri:
            from pymongo import MongoClient

            MongoClient(mongo.uri).drop_database(database)
        if weaviate.url:
            store = open_store(weaviate)
            store.drop_collection()
            store.close()
