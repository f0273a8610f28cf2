"""Pydantic models shared by every pipeline step: authors, documents, chunks, samples, results."""

from twin_core.domain.chunks import Chunk, EmbeddedChunk
from twin_core.domain.documents import (
    ArticleDocument,
    Author,
    Category,
    CleanedDocument,
    PostDocument,
    RawDocument,
    RepositoryDocument,
    document_class_for,
)
from twin_core.domain.ids import content_hash, stable_id
from twin_core.domain.results import StepResult
from twin_core.domain.samples import InstructionSample, PreferenceSample

__all__ = [
    "ArticleDocument",
    "Author",
    "Category",
    "Chunk",
    "CleanedDocument",
    "EmbeddedChunk",
    "InstructionSample",
    "PostDocument",
    "PreferenceSample",
    "RawDocument",
    "RepositoryDocument",
    "StepResult",
    "content_hash",
    "document_class_for",
    "stable_id",
]
