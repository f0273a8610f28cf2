"""Authors and documents as they move from the crawler (raw) to the feature store (cleaned)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin_core.domain.ids import content_hash, normalize_link, normalize_name, stable_id


class Category(StrEnum):
    """What kind of writing a document is; cleaning and chunking are chosen per category."""

    ARTICLE = "article"
    POST = "post"
    CODE = "code"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Author(_Model):
    """A person whose writing the twin learns; the id derives from the normalised full name."""

    id: str = ""
    full_name: str = Field(min_length=1)
    handle: str | None = None

    @model_validator(mode="after")
    def _derive_id(self) -> Author:
        if not self.id:
            self.id = stable_id("author", normalize_name(self.full_name))
        return self

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0]


class RawDocument(_Model):
    """A document as crawled: identity is (platform, link); ``content_hash`` detects changes."""

    id: str = ""
    category: Category
    platform: str = Field(min_length=1)
    link: str = Field(min_length=1)
    author_id: str
    author_name: str
    title: str = ""
    content: dict[str, str]
    metadata: dict[str, Any] = Field(default_factory=dict)
    published_at: datetime | None = None
    fetched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    content_hash: str = ""

    @model_validator(mode="after")
    def _derive_identity(self) -> RawDocument:
        if not self.id:
            self.id = stable_id("document", self.platform, normalize_link(self.link))
        if not self.content_hash:
            self.content_hash = content_hash({"title": self.title, "content": self.content})
        return self

    def text(self) -> str:
        """All content parts joined, in key order for articles and posts (path order for code)."""
        return "\n\n".join(v for _, v in sorted(self.content.items()) if v)


class ArticleDocument(RawDocument):
    """A long-form article: content keys ``subtitle`` and ``body`` (Markdown)."""

    category: Category = Category.ARTICLE


class PostDocument(RawDocument):
    """A short social post: content key ``text``."""

    category: Category = Category.POST


class RepositoryDocument(RawDocument):
    """A code repository: content maps each kept file's path to its exact text."""

    category: Category = Category.CODE


_BY_CATEGORY: dict[Category, type[RawDocument]] = {
    Category.ARTICLE: ArticleDocument,
    Category.POST: PostDocument,
    Category.CODE: RepositoryDocument,
}


def document_class_for(category: Category | str) -> type[RawDocument]:
    """The document model for a category, e.g. when reading back from the warehouse."""
    return _BY_CATEGORY[Category(category)]


class CleanedDocument(_Model):
    """A raw document after cleaning; same id as its raw document, kept in the feature store."""

    id: str
    category: Category
    platform: str
    link: str
    author_id: str
    author_name: str
    title: str = ""
    content: str
    raw_content_hash: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    published_at: datetime | None = None
