"""Weaviate (client v4) backend: self-provided vectors in a flat cosine index, native BM25 and hybrid search."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from twin_core.domain.chunks import Chunk, EmbeddedChunk
from twin_core.vectorstore.base import (
    CollectionInfo,
    EmbeddingMismatchError,
    Hit,
    SearchFilters,
    check_embeddings,
    check_query_vector,
    dedupe_by_id,
)
from twin_core.vectorstore.filters import to_weaviate

#: The collection description starts with this tag, then JSON {"embedding_model": ..., "dimension": ...}.
META_TAG = "twin-vectorstore:"
#: Weaviate reserves ``id``; the chunk id is the object UUID and is also kept in ``chunk_id``.
_TEXT_FILTERABLE = ("chunk_id", "document_id", "author_id", "author_name", "category", "platform", "link")
_PROPS = [*_TEXT_FILTERABLE, "position", "content", "metadata_json", "embedding_model"]
#: Server default QUERY_MAXIMUM_RESULTS: the most objects one query or delete_many touches.
_MAX_RESULTS = 10_000
_PAGE = 1_000


def object_uuid(chunk_id: str) -> str:
    """The Weaviate object UUID of a chunk: its id when that is a UUID (ours are UUIDv5), else a UUIDv5 of it."""
    try:
        return str(uuid.UUID(chunk_id))
    except ValueError:
        from weaviate.util import generate_uuid5

        return generate_uuid5(chunk_id)


def _properties(chunk: EmbeddedChunk) -> dict[str, Any]:
    return {
        "chunk_id": chunk.id,
        "document_id": chunk.document_id,
        "author_id": chunk.author_id,
        "author_name": chunk.author_name,
        "category": str(chunk.category),
        "platform": chunk.platform,
        "link": chunk.link,
        "position": chunk.position,
        "content": chunk.content,
        "metadata_json": json.dumps(chunk.metadata, sort_keys=True, ensure_ascii=False),
        "embedding_model": chunk.embedding_model,
    }


def _chunk(props: dict[str, Any]) -> Chunk:
    fields = {name: props[name] for name in _TEXT_FILTERABLE if name != "chunk_id"}
    return Chunk(
        id=props["chunk_id"],
        position=int(props["position"]),
        content=props["content"],
        metadata=json.loads(props.get("metadata_json") or "{}"),
        **fields,
    )


def _batches(items: Sequence[str], size: int = 100) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class WeaviateVectorStore:
    """Chunks in one Weaviate collection; its description stores the embedding model id and dimension."""

    backend = "weaviate"

    def __init__(
        self,
        url: str,
        collection: str,
        grpc_port: int = 50051,
        api_key_env: str = "WEAVIATE_API_KEY",
        *,
        replication_factor: int = 1,
        consistency_level: str = "QUORUM",
    ) -> None:
        import weaviate
        from weaviate.classes.init import Auth

        parts = urlsplit(url)
        secure = parts.scheme == "https"
        if not parts.hostname:
            raise ValueError(f"vector_store.url: {url!r} has no host")
        api_key = os.environ.get(api_key_env) if api_key_env else None
        self.collection = collection
        self.replication_factor, self.consistency_level = replication_factor, consistency_level
        self._meta: tuple[str, int] | None = None
        self._client = weaviate.connect_to_custom(
            http_host=parts.hostname,
            http_port=parts.port or (443 if secure else 80),
            http_secure=secure,
            grpc_host=parts.hostname,
            grpc_port=grpc_port,
            grpc_secure=secure,
            auth_credentials=Auth.api_key(api_key) if api_key else None,
        )

    def _exists(self) -> bool:
        return self._stored() is not None

    def _coll(self) -> Any:
        from weaviate.classes.config import ConsistencyLevel

        coll = self._client.collections.get(self.collection)
        return coll.with_consistency_level(ConsistencyLevel(self.consistency_level))

    def _stored(self) -> tuple[str, int] | None:
        """(model id, dimension) from the collection description, cached: they never change while it exists."""
        if self._meta is None and self._client.collections.exists(self.collection):
            description = self._coll().config.get().description or ""
            if not description.startswith(META_TAG):
                raise ValueError(f"Weaviate collection {self.collection!r} has no embedding model metadata")
            meta = json.loads(description[len(META_TAG) :])
            self._meta = str(meta["embedding_model"]), int(meta["dimension"])
        return self._meta

    def info(self) -> CollectionInfo | None:
        """The collection's model id, dimension and object count, or None when it does not exist yet."""
        stored = self._stored()
        return None if stored is None else CollectionInfo(self.collection, stored[0], stored[1], self.count())

    def ensure_collection(self, embedding_model: str, dimension: int) -> CollectionInfo:
        """Create the collection (no vectorizer, flat cosine index: exact search) or check its model and dimension."""
        from weaviate.classes.config import Configure, DataType, Property, Tokenization, VectorDistances

        stored = self._stored()
        if stored is None:
            text = [
                Property(name=n, data_type=DataType.TEXT, tokenization=Tokenization.FIELD, index_searchable=False)
                for n in (*_TEXT_FILTERABLE, "embedding_model")
            ]
            self._client.collections.create(
                self.collection,
                description=META_TAG + json.dumps({"embedding_model": embedding_model, "dimension": dimension}),
                replication_config=(
                    Configure.replication(factor=self.replication_factor) if self.replication_factor > 1 else None
                ),
                vector_config=Configure.Vectors.self_provided(
                    vector_index_config=Configure.VectorIndex.flat(distance_metric=VectorDistances.COSINE)
                ),
                properties=[
                    *text,
                    Property(name="position", data_type=DataType.INT),
                    Property(name="content", data_type=DataType.TEXT, tokenization=Tokenization.WORD),
                    Property(
                        name="metadata_json", data_type=DataType.TEXT, index_filterable=False, index_searchable=False
                    ),
                ],
            )
        elif stored != (embedding_model, dimension):
            raise EmbeddingMismatchError(self.collection, stored, (embedding_model, dimension))
        info = self.info()
        assert info is not None
        return info

    def upsert(self, chunks: Sequence[EmbeddedChunk]) -> int:
        """Insert or replace chunks by object UUID (batch import overwrites); returns distinct ids written."""
        info = self.info()
        if info is None:
            raise LookupError(f"Weaviate collection {self.collection!r} does not exist; call ensure_collection first")
        check_embeddings(info, chunks)
        unique = dedupe_by_id(chunks)
        coll = self._coll()
        with coll.batch.fixed_size(batch_size=200) as batch:
            for c in unique:
                batch.add_object(properties=_properties(c), uuid=object_uuid(c.id), vector=list(c.embedding))
        failed = coll.batch.failed_objects
        if failed:
            raise RuntimeError(
                f"Weaviate upsert into {self.collection!r}: {len(failed)} of {len(unique)} objects failed, "
                f"first: {failed[0].message}"
            )
        return len(unique)

    def delete_by_document(self, document_ids: Sequence[str]) -> int:
        """Delete every chunk of these documents; returns the number of objects deleted."""
        if not document_ids or not self._exists():
            return 0
        coll, deleted = self._coll(), 0
        for group in _batches(list(document_ids)):
            where = to_weaviate(SearchFilters(document_id=group))
            while True:
                res = coll.data.delete_many(where=where)
                deleted += res.successful
                if res.matches < _MAX_RESULTS or res.successful == 0:
                    break
        return deleted

    def chunk_ids_by_document(self, document_ids: Sequence[str] | None = None) -> dict[str, set[str]]:
        """Map document id -> ids of its stored chunks (all documents when ``document_ids`` is None)."""
        out: dict[str, set[str]] = {}
        if not self._exists():
            return out
        coll, props = self._coll(), ["chunk_id", "document_id"]
        if document_ids is None:
            for obj in coll.iterator(return_properties=props):
                out.setdefault(obj.properties["document_id"], set()).add(obj.properties["chunk_id"])
            return out
        for group in _batches(list(document_ids), size=20):
            where, offset = to_weaviate(SearchFilters(document_id=group)), 0
            while offset < _MAX_RESULTS:
                res = coll.query.fetch_objects(filters=where, limit=_PAGE, offset=offset, return_properties=props)
                for obj in res.objects:
                    out.setdefault(obj.properties["document_id"], set()).add(obj.properties["chunk_id"])
                if len(res.objects) < _PAGE:
                    break
                offset += _PAGE
        return out

    def search(self, vector: Sequence[float], k: int, filters: SearchFilters | None = None) -> list[Hit]:
        """Exact top-k by cosine similarity (flat index) among objects passing the filters; score = 1 - distance."""
        from weaviate.classes.query import MetadataQuery

        stored = self._stored()
        if stored is None or k <= 0 or (filters is not None and filters.matches_nothing()):
            return []
        check_query_vector(self.collection, stored, vector)
        res = self._coll().query.near_vector(
            near_vector=list(vector),
            limit=k,
            filters=to_weaviate(filters),
            return_metadata=MetadataQuery(distance=True),
            return_properties=_PROPS,
        )
        return [Hit(_chunk(o.properties), 1.0 - float(o.metadata.distance), "vector") for o in res.objects]

    def keyword_search(self, text: str, k: int, filters: SearchFilters | None = None) -> list[Hit]:
        """Top-k by Weaviate's BM25 over ``content`` among objects passing the filters."""
        from weaviate.classes.query import MetadataQuery

        if not self._exists() or k <= 0 or not text.strip() or (filters is not None and filters.matches_nothing()):
            return []
        res = self._coll().query.bm25(
            query=text,
            query_properties=["content"],
            limit=k,
            filters=to_weaviate(filters),
            return_metadata=MetadataQuery(score=True),
            return_properties=_PROPS,
        )
        return [Hit(_chunk(o.properties), float(o.metadata.score or 0.0), "keyword") for o in res.objects]

    def hybrid_search(
        self, text: str, vector: Sequence[float], k: int, filters: SearchFilters | None = None, alpha: float = 0.5
    ) -> list[Hit]:
        """Weaviate's native hybrid (relative-score fusion); alpha = 1 is pure vector, 0 pure BM25."""
        from weaviate.classes.query import HybridFusion, MetadataQuery

        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"hybrid_search: alpha must be in [0, 1], got {alpha}")
        stored = self._stored()
        if stored is None or k <= 0 or (filters is not None and filters.matches_nothing()):
            return []
        check_query_vector(self.collection, stored, vector)
        res = self._coll().query.hybrid(
            query=text,
            vector=list(vector),
            alpha=alpha,
            query_properties=["content"],
            fusion_type=HybridFusion.RELATIVE_SCORE,
            limit=k,
            filters=to_weaviate(filters),
            return_metadata=MetadataQuery(score=True),
            return_properties=_PROPS,
        )
        return [Hit(_chunk(o.properties), float(o.metadata.score or 0.0), "hybrid") for o in res.objects]

    def count(self, filters: SearchFilters | None = None) -> int:
        """Objects passing the filters (all objects when None)."""
        if not self._exists() or (filters is not None and filters.matches_nothing()):
            return 0
        res = self._coll().aggregate.over_all(filters=to_weaviate(filters), total_count=True)
        return int(res.total_count or 0)

    def drop_collection(self) -> None:
        """Delete the collection and everything in it (re-embedding with another model starts here)."""
        if self._exists():
            self._client.collections.delete(self.collection)
        self._meta = None

    def close(self) -> None:
        """Close the HTTP and gRPC connections."""
        self._client.close()
