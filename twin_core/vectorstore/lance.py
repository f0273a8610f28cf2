"""LanceDB backend: one on-disk table, exact (brute-force) filtered cosine search, native FTS, RRF hybrid."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import lancedb
import pyarrow as pa
from lancedb.index import FTS

from twin_core.domain.chunks import Chunk, EmbeddedChunk
from twin_core.vectorstore.base import (
    CHUNK_FIELDS,
    CollectionInfo,
    EmbeddingMismatchError,
    Hit,
    SearchFilters,
    check_embeddings,
    check_query_vector,
    dedupe_by_id,
)
from twin_core.vectorstore.filters import to_sql
from twin_core.vectorstore.fusion import reciprocal_rank_fusion

_MODEL_KEY, _DIM_KEY = b"twin.embedding_model", b"twin.dimension"
FTS_INDEX = "content_idx"
#: Rows written since the FTS index was last updated before ``optimize()`` folds them in; until then
#: LanceDB searches unindexed rows by a flat scan, so results are complete either way.
FTS_REINDEX_ROWS = 1024
#: Hybrid search fuses this many candidates (at least k) from each of the vector and keyword lists.
HYBRID_CANDIDATES = 50


def _schema(embedding_model: str, dimension: int) -> pa.Schema:
    fields = [pa.field(name, pa.int64() if name == "position" else pa.string()) for name in CHUNK_FIELDS]
    fields += [pa.field("embedding_model", pa.string()), pa.field("vector", pa.list_(pa.float32(), dimension))]
    return pa.schema(fields, metadata={_MODEL_KEY: embedding_model.encode(), _DIM_KEY: str(dimension).encode()})


def _row(chunk: EmbeddedChunk) -> dict[str, Any]:
    row = {name: getattr(chunk, name) for name in CHUNK_FIELDS}
    row["category"] = str(chunk.category)
    row["metadata"] = json.dumps(chunk.metadata, sort_keys=True, ensure_ascii=False)
    row["embedding_model"], row["vector"] = chunk.embedding_model, chunk.embedding
    return row


def _chunk(row: dict[str, Any]) -> Chunk:
    fields = {name: row[name] for name in CHUNK_FIELDS}
    fields["metadata"] = json.loads(fields["metadata"] or "{}")
    return Chunk(**fields)


class LanceVectorStore:
    """Chunks in the LanceDB table ``collection`` under ``path``; model id and dimension live in the schema metadata."""

    backend = "lancedb"

    def __init__(self, path: str | Path, collection: str, fts_reindex_rows: int = FTS_REINDEX_ROWS) -> None:
        self.path, self.collection, self.fts_reindex_rows = Path(path), collection, fts_reindex_rows
        self.path.mkdir(parents=True, exist_ok=True)
        # Interval 0: every read sees writes made by other processes (pipeline steps run as subprocesses).
        self._db = lancedb.connect(self.path, read_consistency_interval=timedelta(0))
        self._table: Any = None

    def _open(self) -> Any:
        if self._table is None and self.collection in self._db.list_tables().tables:
            self._table = self._db.open_table(self.collection)
        return self._table

    def _stored(self) -> tuple[str, int] | None:
        table = self._open()
        if table is None:
            return None
        meta = table.schema.metadata or {}
        if _MODEL_KEY not in meta or _DIM_KEY not in meta:
            raise ValueError(f"LanceDB table {self.collection!r} in {self.path} has no embedding model metadata")
        return meta[_MODEL_KEY].decode(), int(meta[_DIM_KEY])

    def info(self) -> CollectionInfo | None:
        """The collection's model id, dimension and row count, or None when it does not exist yet."""
        stored = self._stored()
        if stored is None:
            return None
        return CollectionInfo(self.collection, stored[0], stored[1], self._table.count_rows())

    def ensure_collection(self, embedding_model: str, dimension: int) -> CollectionInfo:
        """Create the table (with an FTS index on content) or check that it was made for this model and dimension."""
        stored = self._stored()
        if stored is None:
            table = self._db.create_table(self.collection, schema=_schema(embedding_model, dimension))
            table.create_index("content", config=FTS(), name=FTS_INDEX)
            self._table = table
        elif stored != (embedding_model, dimension):
            raise EmbeddingMismatchError(self.collection, stored, (embedding_model, dimension))
        info = self.info()
        assert info is not None
        return info

    def _require(self) -> CollectionInfo:
        info = self.info()
        if info is None:
            raise LookupError(
                f"LanceDB table {self.collection!r} does not exist in {self.path}; call ensure_collection first"
            )
        return info

    def upsert(self, chunks: Sequence[EmbeddedChunk]) -> int:
        """Insert or replace chunks by id; returns how many distinct ids were written."""
        info = self._require()
        check_embeddings(info, chunks)
        rows = [_row(c) for c in dedupe_by_id(chunks)]
        if not rows:
            return 0
        data = pa.Table.from_pylist(rows, schema=self._table.schema)
        self._table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
        self._refresh_fts()
        return len(rows)

    def _refresh_fts(self) -> None:
        """Fold new rows into the FTS index once enough have piled up (``optimize`` also compacts fragments)."""
        stats = self._table.index_stats(FTS_INDEX)
        if stats is None:
            self._table.create_index("content", config=FTS(), name=FTS_INDEX, replace=True)
        elif stats.num_unindexed_rows >= self.fts_reindex_rows:
            self._table.optimize()

    def delete_by_document(self, document_ids: Sequence[str]) -> int:
        """Delete every chunk of these documents; returns the number of rows deleted."""
        where = to_sql(SearchFilters(document_id=list(document_ids)))
        if self._open() is None or not document_ids or where is None:
            return 0
        return int(self._table.delete(where).num_deleted_rows)

    def chunk_ids_by_document(self, document_ids: Sequence[str] | None = None) -> dict[str, set[str]]:
        """Map document id -> ids of its stored chunks (all documents when ``document_ids`` is None)."""
        if self._open() is None:
            return {}
        query = self._table.search().select(["id", "document_id"]).limit(None)
        if document_ids is not None:
            query = query.where(to_sql(SearchFilters(document_id=list(document_ids))))
        out: dict[str, set[str]] = {}
        for row in query.to_arrow().to_pylist():
            out.setdefault(row["document_id"], set()).add(row["id"])
        return out

    def search(self, vector: Sequence[float], k: int, filters: SearchFilters | None = None) -> list[Hit]:
        """Exact top-k by cosine similarity among rows passing the filters (prefilter, no ANN index)."""
        stored = self._stored()
        if stored is None or k <= 0:
            return []
        check_query_vector(self.collection, stored, vector)
        query = self._table.search(list(vector), query_type="vector").distance_type("cosine").bypass_vector_index()
        query = self._filtered(query, filters)
        rows = query.select([*CHUNK_FIELDS, "_distance"]).limit(k).to_arrow().to_pylist()
        return [Hit(_chunk(r), 1.0 - float(r["_distance"]), "vector") for r in rows]

    def keyword_search(self, text: str, k: int, filters: SearchFilters | None = None) -> list[Hit]:
        """Top-k by BM25 over ``content`` with LanceDB's native full-text index, among rows passing the filters."""
        if self._open() is None or k <= 0 or not text.strip():
            return []
        query = self._filtered(self._table.search(text, query_type="fts", fts_columns="content"), filters)
        rows = query.select([*CHUNK_FIELDS, "_score"]).limit(k).to_arrow().to_pylist()
        return [Hit(_chunk(r), float(r["_score"]), "keyword") for r in rows]

    def hybrid_search(
        self, text: str, vector: Sequence[float], k: int, filters: SearchFilters | None = None, alpha: float = 0.5
    ) -> list[Hit]:
        """Vector and BM25 candidates fused by weighted reciprocal rank (alpha weighs vector, 1 - alpha keywords)."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"hybrid_search: alpha must be in [0, 1], got {alpha}")
        n = max(k, HYBRID_CANDIDATES)
        dense, sparse = self.search(vector, n, filters), self.keyword_search(text, n, filters)
        chunks = {h.chunk.id: h.chunk for h in (*sparse, *dense)}
        fused = reciprocal_rank_fusion(
            [[h.chunk.id for h in dense], [h.chunk.id for h in sparse]], weights=[alpha, 1.0 - alpha]
        )
        return [Hit(chunks[cid], score, "hybrid") for cid, score in fused[:k]]

    def count(self, filters: SearchFilters | None = None) -> int:
        """Rows passing the filters (all rows when None)."""
        if self._open() is None:
            return 0
        return int(self._table.count_rows(to_sql(filters)))

    def drop_collection(self) -> None:
        """Delete the table and everything in it (re-embedding with another model starts here)."""
        if self._open() is not None:
            self._db.drop_table(self.collection)
        self._table = None

    def close(self) -> None:
        """Drop the table handle; LanceDB holds no server connection."""
        self._table = None

    @staticmethod
    def _filtered(query: Any, filters: SearchFilters | None) -> Any:
        where = to_sql(filters)
        return query if where is None else query.where(where, prefilter=True)
