"""Vector store settings: LanceDB on disk (default) or a Weaviate server."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from twin_core.config.base import Settings


class VectorStoreSettings(Settings):
    """Which vector engine holds embedded chunks, and the collection's name."""

    backend: Literal["lancedb", "weaviate"] = "lancedb"
    path: Path | None = Field(default=None, description="LanceDB directory.")
    url: str | None = Field(default=None, description="Weaviate HTTP URL, e.g. http://localhost:8080.")
    grpc_port: int = Field(default=50051, gt=0, lt=65536)
    api_key_env: str = Field(default="WEAVIATE_API_KEY", description="Env var holding the Weaviate API key.")
    collection: str = Field(default="TwinChunks", pattern=r"^[A-Z][A-Za-z0-9_]*$")
    replication_factor: int = Field(default=1, ge=1, description="Weaviate: copies of each shard (<= cluster nodes).")
    consistency_level: Literal["ONE", "QUORUM", "ALL"] = Field(
        default="QUORUM", description="Weaviate: replicas that must answer a read or acknowledge a write."
    )

    @model_validator(mode="after")
    def _backend_needs(self) -> VectorStoreSettings:
        if self.backend == "lancedb" and self.path is None:
            raise ValueError("backend 'lancedb' needs vector_store.path")
        if self.backend == "weaviate" and not (self.url and self.url.startswith(("http://", "https://"))):
            raise ValueError(f"backend 'weaviate' needs vector_store.url (http[s]://...), got {self.url!r}")
        return self
