"""Sources (who wrote what, where) and crawler manners (limits, retries, safety)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from twin_core.config.base import Settings


class LinkSpec(Settings):
    """One link to crawl; ``crawler`` forces a crawler by name, ``render`` asks for a headless browser."""

    url: str
    crawler: str | None = None
    render: bool = False

    @field_validator("url")
    @classmethod
    def _is_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme in ("http", "https") and parts.netloc and " " not in v:
            return v
        if parts.scheme == "file" or (not parts.scheme and v.startswith(("/", "./", "~"))):
            return v
        raise ValueError(f"{v!r} is not a URL (http://, https://, file:// or a local path)")


class AuthorSources(Settings):
    """An author and everything of theirs to collect."""

    full_name: str = Field(min_length=1)
    handle: str | None = None
    links: list[LinkSpec] = Field(default_factory=list)
    files: list[Path] = Field(default_factory=list, description="Local files or folders (md, html, pdf, docx).")
    linkedin_exports: list[str] = Field(default_factory=list, description="LinkedIn data-export zips (path or URL).")

    @model_validator(mode="before")
    @classmethod
    def _links_as_strings(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("links"), list):
            data = {**data, "links": [{"url": x} if isinstance(x, str) else x for x in data["links"]]}
        return data


class SourcesSettings(Settings):
    """The ``sources`` group: authors with their links and files."""

    authors: list[AuthorSources] = Field(default_factory=list)


class CrawlSettings(Settings):
    """How politely and safely the crawler fetches."""

    concurrency: int = Field(default=8, ge=1, le=256)
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    per_host_rate: float = Field(default=5.0, gt=0, description="Requests per second per host.")
    timeout_s: float = Field(default=15.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0)
    max_body_bytes: int = Field(default=5_000_000, gt=0)
    user_agent: str = "LLMTwinBot/0.1 (+https://github.com/llm-twin)"
    respect_robots: bool = True
    allow_private_networks: bool = False
    crawlers: list[dict[str, Any]] = Field(default_factory=list, description="Crawler registry: _target_ nodes.")
