"""The vector store contract every backend honours: collections, upserts, filtered and hybrid search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from twin_core.domain.chunks import Chunk, EmbeddedChunk

#: Fields a chunk is stored with (besides its vector and embedding model id).
CHUNK_FIELDS: tuple[str, ...] = (
    "id",
    "document_id",
    "author_id",
    "author_name",
    "category",
    "platform",
    "link",
    "position",
    "content",
    "metadata",
)


@dataclass(frozen=True)
class SearchFilters:
    """Equality filters on chunk lineage; a sequence means "any of" and fields combine with AND."""

    author_id: str | None = None
    author_name: str | None = None
    category: str | Sequence[str] | None = None
    platform: str | Sequence[str] | None = None
    document_id: str | Sequence[str] | None = None

    def conditions(self) -> list[tuple[str, list[str]]]:
        """(field, allowed values) for every set field, values as plain strings."""
        out: list[tuple[str, list[str]]] = []
        for name in ("author_id", "author_name", "category", "platform", "document_id"):
            value = getattr(self, name)
            if value is None:
                continue
            values = [value] if isinstance(value, str) else list(value)
            out.append((name, [str(v) for v in values]))
        return out

    def matches_nothing(self) -> bool:
        """True when a field was given an empty list of allowed values."""
        return any(not values for _, values in self.conditions())


@dataclass
class Hit:
    """One search result: the chunk (no embedding), a score where higher is better, and which search found it."""

    chunk: Chunk
    score: float
    source: str


@dataclass(frozen=True)
class CollectionInfo:
    """A collection's name, the embedding model and dimension it was created for, and its row count."""

    name: str
    embedding_model: str
    dimension: int
    count: int


class EmbeddingMismatchError(ValueError):
    """Vectors from another embedding model or of another dimension than the collection stores."""

    def __init__(self, collection: str, stored: tuple[str, int], requested: tuple[str, int], what: str = "") -> None:
        self.stored, self.requested = stored, requested
        where = f" ({what})" if what else ""
        super().__init__(
            f"collection {collection!r} stores embeddings of model {stored[0]!r} with dimension {stored[1]}, "
            f"but got model {requested[0]!r} with dimension {requested[1]}{where}"
        )


def check_embeddings(info: CollectionInfo, chunks: Sequence[EmbeddedChunk]) -> None:
    """Raise EmbeddingMismatchError on the first chunk whose model id or vector length differs from the collection."""
    for chunk in chunks:
        if chunk.embedding_model != info.embedding_model or len(chunk.embedding) != info.dimension:
            raise EmbeddingMismatchError(
                info.name,
                (info.embedding_model, info.dimension),
                (chunk.embedding_model, len(chunk.embedding)),
                f"chunk {chunk.id}",
            )


def check_query_vector(collection: str, stored: tuple[str, int], vector: Sequence[float]) -> None:
    """Raise EmbeddingMismatchError when a query vector's length differs from the collection's dimension."""
    if len(vector) != stored[1]:
        raise EmbeddingMismatchError(collection, stored, ("<query vector>", len(vector)), "search")


def dedupe_by_id(chunks: Sequence[EmbeddedChunk]) -> list[EmbeddedChunk]:
    """Keep the last chunk given for each id, in first-seen order (one write per id)."""
    latest = {c.id: c for c in chunks}
    return list(latest.values())


@runtime_checkable
class VectorStore(Protocol):
    """A collection of embedded chunks with exact filtered vector search, keyword search and hybrid search."""

    backend: str

    def ensure_collection(self, embedding_model: str, dimension: int) -> CollectionInfo: ...

    def upsert(self, chunks: Sequence[EmbeddedChunk]) -> int: ...

    def delete_by_document(self, document_ids: Sequence[str]) -> int: ...

    def chunk_ids_by_document(self, document_ids: Sequence[str] | None = None) -> dict[str, set[str]]: ...

    def search(self, vector: Sequence[float], k: int, filters: SearchFilters | None = None) -> list[Hit]: ...

    def keyword_search(self, text: str, k: int, filters: SearchFilters | None = None) -> list[Hit]: ...

    def hybrid_search(
        self, text: str, vector: Sequence[float], k: int, filters: SearchFilters | None = None, alpha: float = 0.5
    ) -> list[Hit]: ...

    def count(self, filters: SearchFilters | None = None) -> int: ...

    def info(self) -> CollectionInfo | None: ...

    def drop_collection(self) -> None: ...

    def close(self) -> None: ...
