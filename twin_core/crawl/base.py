"""The crawler contract: a crawler is configured in YAML (``_target_``), matches links, and yields documents."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from twin_core.config.base import Settings
from twin_core.domain.documents import Author, RawDocument

if TYPE_CHECKING:
    from twin_core.crawl.settings import CrawlSettings, LinkSpec

Status = Literal["new", "updated", "unchanged", "failed"]


class CrawlFailure(Exception):
    """A link could not be collected; ``reason`` is short and goes into the crawl report."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass
class CrawlContext:
    """What a crawler gets besides the link: settings, the safe fetcher, the author, prior state."""

    settings: CrawlSettings
    author: Author
    fetcher: Any  # twin_core.crawl.fetcher.SafeFetcher
    work_dir: Path
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)  # link -> {etag, last_modified, hash}


@dataclass
class CrawlOutcome:
    """One line of the crawl report: what happened to one link (or to one document found under it)."""

    link: str
    crawler: str
    status: Status
    reason: str = ""
    document_ids: list[str] = field(default_factory=list)


class Crawler(Settings):
    """Base of every crawler; subclasses set ``name`` and implement ``crawl``.

    ``patterns`` are regular expressions over the link; the dispatcher picks the first crawler whose
    pattern matches, unless the link names a crawler explicitly.
    """

    name: str = Field(min_length=1)
    patterns: list[str] = Field(default_factory=list)

    def matches(self, url: str) -> bool:
        return any(re.search(p, url) for p in self.patterns)

    async def crawl(self, link: LinkSpec, ctx: CrawlContext) -> list[RawDocument]:
        """Collect the documents behind ``link``; raise CrawlFailure with a reason when it cannot."""
        raise NotImplementedError
