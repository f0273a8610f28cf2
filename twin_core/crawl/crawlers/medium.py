"""Medium: a profile (``medium.com/@handle``, ``handle.medium.com``) or its feed, or one story URL."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field

from twin_core.crawl.base import CrawlContext
from twin_core.crawl.crawlers.web import WebCrawler
from twin_core.crawl.settings import LinkSpec
from twin_core.domain.documents import RawDocument


def medium_kind(url: str) -> str:
    """``feed``, ``profile`` (a profile or publication home) or ``article``, from the URL's shape."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if re.search(r"/feed(/@?[\w.-]+)?$", path):
        return "feed"
    if re.search(r"(^|/)@[\w.-]+$", path):
        return "profile"
    host = (parts.hostname or "").lower()
    if path == "" and host.endswith(".medium.com") and host != "www.medium.com":
        return "profile"
    return "article"


def medium_feed_url(url: str) -> str:
    """The RSS feed of a profile: ``/@handle`` -> ``/feed/@handle``; ``handle.medium.com`` -> ``/feed``."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    at = path.rfind("/@")
    feed_path = f"{path[:at]}/feed{path[at:]}" if at >= 0 else f"{path}/feed"
    return urlunsplit((parts.scheme, parts.netloc, feed_path, "", ""))


class MediumCrawler(WebCrawler):
    """Medium stories: discovered through the profile's RSS feed, each story page extracted to Markdown."""

    name: str = "medium"
    platform: str = "medium"
    patterns: list[str] = Field(
        default_factory=lambda: [
            r"^https?://(www\.)?medium\.com/",
            r"^https?://[\w-]+\.medium\.com(/|$)",
            r"^https?://[^/]+/medium/(feed/)?@[\w.-]+",
        ]
    )
    title_selectors: list[str] = Field(
        default_factory=lambda: ['[data-testid="storyTitle"]', "h1.pw-post-title", "article h1", "h1"]
    )
    subtitle_selectors: list[str] = Field(
        default_factory=lambda: [".pw-subtitle-paragraph", '[data-testid="storySubtitle"]']
    )
    body_selectors: list[str] = Field(default_factory=lambda: ["article section", "article", "main"])
    strip_selectors: list[str] = Field(
        default_factory=lambda: [
            ".speechify-ignore",
            ".pw-author",
            '[data-testid="authorName"]',
            ".meta",
            ".actions",
            ".member-badge",
            '[data-testid="storyReadTime"]',
            '[data-testid="storyPublishDate"]',
            "nav",
            "footer",
            "aside",
        ]
    )
    tag_selectors: list[str] = Field(default_factory=lambda: ['a[href*="/tag/"]', 'a[rel~="tag"]'])

    async def crawl(self, link: LinkSpec, ctx: CrawlContext) -> list[RawDocument]:
        kind = medium_kind(link.url)
        if kind == "feed":
            return await self.crawl_feed(link.url, ctx)
        if kind == "profile":
            return await self.crawl_feed(medium_feed_url(link.url), ctx)
        doc = await self.crawl_article(link.url, ctx)
        return [doc] if doc else []
