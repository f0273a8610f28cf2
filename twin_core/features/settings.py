"""Cleaning, chunking and embedding settings (the feature pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin_core.config.base import Settings

CategoryName = Literal["article", "post", "code"]


class CleaningSettings(Settings):
    """Which cleaner runs for each category, and what counts as page boilerplate or noise."""

    strategies: dict[CategoryName, Literal["article", "post", "code"]] = Field(
        default_factory=lambda: {"article": "article", "post": "post", "code": "code"}
    )
    strip_boilerplate: bool = True
    extra_boilerplate: list[str] = Field(
        default_factory=list, description="More regular expressions; a prose line matching one fully is dropped."
    )
    code_exclude: list[str] = Field(
        default_factory=lambda: ["*.lock", "package-lock.json", "*.min.js", "*.min.css", "*.svg", "*.ipynb"],
        description="Glob patterns (on the file path) of repository files left out of the cleaned document.",
    )
    min_chars: int = Field(default=20, ge=0, description="Shorter cleaned documents are skipped (not chunked).")


class ChunkingSettings(Settings):
    """Chunking strategy per category and its sizes (characters; tokens for the ``token`` strategy)."""

    strategies: dict[CategoryName, Literal["recursive", "token", "markdown", "code"]] = Field(
        default_factory=lambda: {"article": "markdown", "post": "recursive", "code": "code"}
    )
    chunk_size: int = Field(default=1000, gt=0, description="Characters per chunk (recursive, markdown, code).")
    chunk_overlap: int = Field(default=100, ge=0, description="Characters shared by neighbouring chunks.")
    max_tokens: int = Field(
        default=256, ge=8, description="Hard cap incl. special tokens; also the ``token`` strategy's window."
    )
    token_overlap: int = Field(default=32, ge=0, description="Tokens shared by neighbouring ``token`` chunks.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        if self.token_overlap >= self.max_tokens // 2:
            raise ValueError(
                f"token_overlap ({self.token_overlap}) must be below half of max_tokens ({self.max_tokens})"
            )
        return self


class EmbeddingSettings(Settings):
    """The sentence-transformers model that embeds chunks and queries, and how it runs."""

    model_id: str = Field(min_length=1, description="Identity stored with the vector collection.")
    model_path: Path | None = Field(default=None, description="Local model folder; None resolves the packaged model.")
    dimension: int = Field(gt=0)
    max_seq_length: int = Field(default=256, gt=0)
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$")
    dtype: Literal["float32", "float16", "bfloat16", "auto"] = Field(
        default="float32", description="auto: bfloat16 on a CPU with native bf16, float16 on CUDA, else float32."
    )
    backend: Literal["torch", "onnx"] = "torch"
    quantize: Literal["none", "int8"] = Field(
        default="none", description="int8: dynamic quantisation of Linear layers (CPU, torch backend)."
    )
    batch_size: int = Field(default=32, gt=0, description="Texts per forward pass (sorted by length first).")
    pipeline_batch: int = Field(default=512, gt=0, description="Chunks embedded and written together per step.")
    normalize: bool = True

    @model_validator(mode="after")
    def _quantize_needs_cpu_torch(self) -> EmbeddingSettings:
        if self.quantize == "int8" and (self.device != "cpu" or self.backend != "torch"):
            raise ValueError(f"quantize 'int8' needs device cpu and backend torch, got {self.device}/{self.backend}")
        if self.quantize == "int8" and self.dtype not in ("float32", "auto"):
            raise ValueError(f"quantize 'int8' quantises float32 weights; dtype {self.dtype!r} cannot be combined")
        return self

    @field_validator("model_path")
    @classmethod
    def _model_path_exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.exists():
            raise ValueError(f"{str(v)!r}: no such model folder")
        return v
