"""Cleaning, chunking and embedding settings (the feature pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from twin_core.config.base import Settings

CategoryName = Literal["article", "post", "code"]


class CleaningSettings(Settings):
    """Which cleaner runs for each category."""

    strategies: dict[CategoryName, Literal["article", "post", "code"]] = Field(
        default_factory=lambda: {"article": "article", "post": "post", "code": "code"}
    )
    strip_boilerplate: bool = True
    min_chars: int = Field(default=20, ge=0)


class ChunkingSettings(Settings):
    """Chunking strategy per category and its sizes (characters, or tokens for ``token``)."""

    strategies: dict[CategoryName, Literal["recursive", "token", "markdown", "code"]] = Field(
        default_factory=lambda: {"article": "markdown", "post": "recursive", "code": "code"}
    )
    chunk_size: int = Field(default=1000, gt=0)
    chunk_overlap: int = Field(default=100, ge=0)
    max_tokens: int = Field(default=256, gt=0, description="Hard cap: the embedding model's max sequence length.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self


class EmbeddingSettings(Settings):
    """The sentence-transformers model that embeds chunks and queries."""

    model_id: str = Field(min_length=1, description="Identity stored with the vector collection.")
    model_path: Path | None = Field(default=None, description="Local model folder; None resolves the packaged model.")
    dimension: int = Field(gt=0)
    max_seq_length: int = Field(default=256, gt=0)
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$")
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    backend: Literal["torch", "onnx"] = "torch"
    batch_size: int = Field(default=32, gt=0)
    normalize: bool = True
