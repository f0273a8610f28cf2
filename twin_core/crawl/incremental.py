"""Incremental crawling: per-page state (validators, body hash, documents found) so unchanged pages are skipped.

A page is unchanged when the server answers 304 to a conditional GET, or when its body hashes the same as last
time; its documents are then reported unchanged without being extracted again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twin_core.crawl.base import CrawlContext, CrawlFailure
from twin_core.crawl.extract import detect_wall
from twin_core.crawl.fetcher import FetchError, FetchResult
from twin_core.domain.documents import RawDocument
from twin_core.domain.ids import normalize_link

STATE_COLLECTION = "crawl_state"


@dataclass
class DocRef:
    """A document found under a page, as the report names it."""

    id: str
    link: str
    title: str = ""


@dataclass
class RunContext(CrawlContext):
    """A crawl context that also collects, for one link, the page state to save and per-document outcomes."""

    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    unchanged: list[DocRef] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (url, reason) of documents under the link


def state_key(url: str) -> str:
    return normalize_link(url)


@dataclass
class Page:
    """A fetched page; ``changed`` is False after a 304 or an identical body, and then ``text`` is None."""

    url: str
    result: FetchResult
    changed: bool
    previous: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str | None:
        return self.result.text if self.changed else None

    @property
    def final_url(self) -> str:
        return self.result.final_url


def previous_state(ctx: CrawlContext, url: str) -> dict[str, Any]:
    return dict(ctx.previous.get(state_key(url)) or {})


async def fetch_page(ctx: CrawlContext, url: str, accept: Sequence[str] = ("html",), *, walls: bool = True) -> Page:
    """Conditional GET of ``url`` against its saved state; bot walls and paywalls raise CrawlFailure."""
    prev = previous_state(ctx, url)
    try:
        result = await ctx.fetcher.fetch(
            url, accept=accept, etag=prev.get("etag"), last_modified=prev.get("last_modified")
        )
    except FetchError as exc:
        wall = detect_wall(exc.text, exc.headers) if walls and exc.text else None
        if wall:
            raise CrawlFailure(wall) from exc
        raise
    changed = not result.not_modified and result.body_hash != prev.get("body_hash")
    if changed and walls and result.text is not None:
        wall = detect_wall(result.text, result.headers)
        if wall:
            raise CrawlFailure(wall)
    return Page(url=url, result=result, changed=changed, previous=prev)


def remember(ctx: CrawlContext, page: Page, documents: Sequence[RawDocument] = (), **extra: Any) -> None:
    """Record a changed page's state: validators, body hash, the documents under it and ``extra`` (kind, links)."""
    if not isinstance(ctx, RunContext):
        return
    r = page.result
    ctx.state[state_key(page.url)] = {
        "url": page.url,
        "etag": r.etag or page.previous.get("etag"),
        "last_modified": r.last_modified or page.previous.get("last_modified"),
        "body_hash": r.body_hash or page.previous.get("body_hash", ""),
        "documents": [{"id": d.id, "link": d.link, "title": d.title} for d in documents],
        "fetched_at": datetime.now(UTC),
        **extra,
    }


def keep_unchanged(ctx: CrawlContext, page: Page) -> dict[str, Any]:
    """Carry an unchanged page's saved state forward and report its documents unchanged; returns that state."""
    state = {**page.previous, "etag": page.result.etag or page.previous.get("etag")}
    state["last_modified"] = page.result.last_modified or page.previous.get("last_modified")
    if isinstance(ctx, RunContext):
        ctx.state[state_key(page.url)] = state
        ctx.unchanged.extend(DocRef(**d) for d in state.get("documents", []))
    return state


def note_failure(ctx: CrawlContext, url: str, reason: str) -> None:
    """A document under the link failed; the link goes on with the others."""
    if isinstance(ctx, RunContext):
        ctx.failures.append((url, reason))
