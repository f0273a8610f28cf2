"""Chunks of cleaned documents, before and after embedding."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin_core.domain.documents import Category
from twin_core.domain.ids import content_hash, stable_id


class Chunk(BaseModel):
    """A piece of a cleaned document that keeps its lineage (document, author, position, link)."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    document_id: str
    author_id: str
    author_name: str
    category: Category
    platform: str
    link: str
    position: int = Field(ge=0)
    content: str = Field(min_length=1)
    metadata: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _derive_id(self) -> Chunk:
        if not self.id:
            self.id = stable_id("chunk", self.document_id, str(self.position), content_hash(self.content))
        return self


class EmbeddedChunk(Chunk):
    """A chunk with its embedding and the id of the model that made it."""

    embedding: list[float] = Field(min_length=1)
    embedding_model: str
