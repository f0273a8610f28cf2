"""Vector store: one interface over LanceDB (embedded default) and Weaviate (server), chosen by settings."""

from __future__ import annotations

from twin_core.vectorstore.base import (
    CollectionInfo,
    EmbeddingMismatchError,
    Hit,
    SearchFilters,
    VectorStore,
)
from twin_core.vectorstore.settings import VectorStoreSettings

__all__ = [
    "CollectionInfo",
    "EmbeddingMismatchError",
    "Hit",
    "SearchFilters",
    "VectorStore",
    "VectorStoreSettings",
    "open_store",
]


def open_store(settings: VectorStoreSettings) -> VectorStore:
    """The store named by ``settings.backend``; backends are imported on demand (Weaviate pulls in gRPC)."""
    if settings.backend == "lancedb":
        from twin_core.vectorstore.lance import LanceVectorStore

        assert settings.path is not None
        return LanceVectorStore(settings.path, settings.collection)
    from twin_core.vectorstore.weaviate_store import WeaviateVectorStore

    assert settings.url is not None
    return WeaviateVectorStore(
        settings.url,
        settings.collection,
        settings.grpc_port,
        settings.api_key_env,
        replication_factor=settings.replication_factor,
        consistency_level=settings.consistency_level,
    )
