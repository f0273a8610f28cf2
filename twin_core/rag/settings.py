"""Retrieval-augmented generation settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twin_core.config.base import Settings


class RagSettings(Settings):
    """Each retrieval stage can be switched on or off here."""

    self_query: bool = True
    query_expansion: Literal["none", "llm", "prf"] = "prf"
    expansions: int = Field(default=3, ge=1, le=10)
    search: Literal["vector", "hybrid"] = "hybrid"
    rerank: Literal["none", "rrf", "cross_encoder"] = "rrf"
    top_k: int = Field(default=5, gt=0, le=100)
