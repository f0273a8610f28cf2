"""Sources (who wrote what, where) and crawler manners (limits, retries, safety, the crawler registry)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from twin_core.config.base import Settings
from twin_core.crawl.base import Crawler


def check_url(v: str) -> str:
    """An http(s) URL with a host and a valid port, a ``file://`` URL or a local path; else ValueError."""
    try:
        parts = urlsplit(v)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError as exc:
        raise ValueError(f"{v!r} is not a URL ({exc})") from None
    if parts.scheme in ("http", "https") and parts.hostname and port_ok and not any(c.isspace() for c in v):
        return v
    if parts.scheme == "file" or (not parts.scheme and v.startswith(("/", "./", "../", "~"))):
        return v
    raise ValueError(f"{v!r} is not a URL (http://, https://, file:// or a local path)")


class LinkSpec(Settings):
    """One link to crawl; ``crawler`` forces a crawler by name, ``render`` asks for a headless browser."""

    url: str
    crawler: str | None = None
    render: bool = False

    @field_validator("url")
    @classmethod
    def _is_url(cls, v: str) -> str:
        return check_url(v)


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

    @field_validator("linkedin_exports")
    @classmethod
    def _exports_are_urls(cls, v: list[str]) -> list[str]:
        for x in v:
            check_url(x)
            if not x.startswith(("http://", "https://")) and not _local(x).exists():
                raise ValueError(f"{x!r}: no such file (relative paths start at the project root)")
        return v

    @field_validator("files")
    @classmethod
    def _files_exist(cls, v: list[Path]) -> list[Path]:
        missing = [str(p) for p in v if not _local(str(p)).exists()]
        if missing:
            raise ValueError(f"no such file or folder: {missing} (relative paths start at the project root)")
        return v


def _local(path: str) -> Path:
    """A local source path as the crawlers resolve it: ``file://`` stripped, ``~`` expanded, relative to the root."""
    from twin_core.config.compose import repo_root

    p = Path(path.removeprefix("file://")).expanduser()
    return p if p.is_absolute() else repo_root() / p


class SourcesSettings(Settings):
    """The ``sources`` group: authors with their links and files."""

    authors: list[AuthorSources] = Field(default_factory=list)


class CrawlSettings(Settings):
    """How politely and safely the crawler fetches, and which crawlers it may use (first match wins)."""

    concurrency: int = Field(default=8, ge=1, le=256, description="Requests in flight at once, all hosts.")
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    per_host_rate: float = Field(default=5.0, gt=0, description="Requests per second per host.")
    timeout_s: float = Field(default=15.0, gt=0, description="Connect / read / write timeout of one request.")
    deadline_s: float = Field(default=60.0, gt=0, description="Whole-response limit of one attempt (slow drips).")
    retries: int = Field(default=3, ge=0, le=10, description="Retries on 5xx, 429, timeouts, connection errors.")
    backoff_s: float = Field(default=0.5, ge=0, description="First retry delay; doubles each retry.")
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_body_bytes: int = Field(default=5_000_000, gt=0)
    user_agent: str = Field(default="LLMTwinBot/0.1 (+https://github.com/llm-twin)", min_length=1)
    respect_robots: bool = True
    allow_private_networks: bool = False
    render_timeout_s: float = Field(default=30.0, gt=0, description="Page load limit for render: true links.")
    chromium_path: str | None = Field(default=None, description="Chromium binary; None: look on PATH.")
    crawlers: list[Crawler] = Field(default_factory=list, description="Crawler registry: _target_ nodes, in order.")
    window_start: datetime | None = Field(
        default=None, description="Store only documents published at or after this (ISO 8601; naive = UTC)."
    )
    window_end: datetime | None = Field(default=None, description="Store only documents published before this.")

    @field_validator("window_start", "window_end")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v

    @model_validator(mode="after")
    def _window_order(self) -> CrawlSettings:
        if self.window_start and self.window_end and self.window_start >= self.window_end:
            raise ValueError(f"window_start ({self.window_start}) must be before window_end ({self.window_end})")
        return self

    def in_window(self, published_at: datetime | None) -> bool:
        """Half-open [start, end); undated documents are in every window, so nothing is lost."""
        if published_at is None:
            return True
        when = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
        return (self.window_start is None or when >= self.window_start) and (
            self.window_end is None or when < self.window_end
        )

    @field_validator("crawlers", mode="before")
    @classmethod
    def _built_crawlers(cls, v: Any) -> Any:
        for i, item in enumerate(v if isinstance(v, list) else []):
            if not isinstance(item, Crawler):
                raise ValueError(f"crawlers[{i}]: needs a _target_ naming a Crawler class, got {item!r}")
        return v

    @field_validator("crawlers")
    @classmethod
    def _unique_names(cls, v: list[Crawler]) -> list[Crawler]:
        names = [c.name for c in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"crawler names must be unique; repeated: {dupes}")
        return v
