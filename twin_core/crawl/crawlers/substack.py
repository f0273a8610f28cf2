"""Substack: a publication (``name.substack.com`` or a custom domain given with ``crawler: substack``), its
feed, or one post (``/p/<slug>``)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field

from twin_core.crawl.base import CrawlContext
from twin_core.crawl.crawlers.web import WebCrawler
from twin_core.crawl.settings import LinkSpec
from twin_core.domain.documents import RawDocument


def substack_kind(url: str) -> str:
    """``feed``, ``article`` (a ``/p/<slug>`` post) or ``publication``."""
    path = urlsplit(url).path.rstrip("/")
    if path.endswith("/feed"):
        return "feed"
    if re.search(r"/p/[\w-]+$", path):
        return "article"
    return "publication"


def substack_feed_url(url: str) -> str:
    """The publication's RSS feed: ``<publication root>/feed`` (``/archive`` and ``/about`` pages map to it too)."""
    parts = urlsplit(url)
    root = re.sub(r"/(archive|about|podcast|notes)$", "", parts.path.rstrip("/"))
    return urlunsplit((parts.scheme, parts.netloc, f"{root}/feed", "", ""))


class SubstackCrawler(WebCrawler):
    """Substack posts: discovered through the publication's RSS feed, each post page extracted to Markdown."""

    name: str = "substack"
    platform: str = "substack"
    patterns: list[str] = Field(
        default_factory=lambda: [r"^https?://[\w-]+\.substack\.com(/|$)", r"^https?://[^/]+/substack(/|$)"]
    )
    title_selectors: list[str] = Field(default_factory=lambda: ["h1.post-title", "article h1", "h1"])
    subtitle_selectors: list[str] = Field(default_factory=lambda: ["h3.subtitle", "h2.subtitle"])
    body_selectors: list[str] = Field(
        default_factory=lambda: [".available-content .body", ".body.markup", ".available-content", "article"]
    )
    strip_selectors: list[str] = Field(
        default_factory=lambda: [
            ".subscription-widget-wrap-editor",
            ".subscription-widget-wrap",
            ".subscription-widget",
            ".button-wrapper",
            ".captioned-button-wrap",
            ".post-footer",
            ".post-meta",
            "nav",
            "footer",
        ]
    )

    async def crawl(self, link: LinkSpec, ctx: CrawlContext) -> list[RawDocument]:
        kind = substack_kind(link.url)
        if kind == "article":
            doc = await self.crawl_article(link.url, ctx)
            return [doc] if doc else []
        return await self.crawl_feed(link.url if kind == "feed" else substack_feed_url(link.url), ctx)
