"""Shared base of the web crawlers: read a feed's entries, fetch each article page, extract it to a document."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field

from twin_core.crawl.base import CrawlContext, Crawler, CrawlFailure
from twin_core.crawl.crawlers.feeds import FeedEntry, parse_feed
from twin_core.crawl.extract import Article, ExtractRules, extract_article, merge_tags
from twin_core.crawl.incremental import Page, fetch_page, keep_unchanged, note_failure, remember
from twin_core.domain.documents import ArticleDocument, RawDocument

TRACKING_PARAMS = frozenset({"source", "sk", "ref", "gi", "fbclid", "gclid", "mc_cid", "mc_eid", "r", "s"})


def clean_link(url: str) -> str:
    """A link for identity: no fragment, no tracking parameters (utm_*, Medium's ?source=, Substack's ?r=)."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in TRACKING_PARAMS and not k.startswith("utm_")
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


class WebCrawler(Crawler):
    """Articles from web pages, found through feeds; the selectors say where a site keeps each part."""

    platform: str = Field(default="web", min_length=1, description="Stored on every document it makes.")
    title_selectors: list[str] = Field(default_factory=lambda: ["h1"])
    subtitle_selectors: list[str] = Field(default_factory=list)
    body_selectors: list[str] = Field(default_factory=lambda: list(ExtractRules.body))
    strip_selectors: list[str] = Field(default_factory=lambda: list(ExtractRules.strip))
    tag_selectors: list[str] = Field(default_factory=lambda: list(ExtractRules.tags))
    max_items: int = Field(default=50, gt=0, description="Articles taken from one feed at most (newest first).")

    def rules(self) -> ExtractRules:
        return ExtractRules(
            title=self.title_selectors,
            subtitle=self.subtitle_selectors,
            body=self.body_selectors,
            strip=self.strip_selectors,
            tags=self.tag_selectors,
        )

    async def crawl_feed(self, feed_url: str, ctx: CrawlContext, page: Page | None = None) -> list[RawDocument]:
        """Every article a feed lists (unchanged pages skipped); a failing article is noted, the rest go on."""
        page = page or await fetch_page(ctx, feed_url, accept=("feed",), walls=False)
        if page.changed:
            try:
                entries = parse_feed(page.result.text or "", page.final_url)[: self.max_items]
            except ValueError as exc:
                raise CrawlFailure(f"{feed_url}: {exc}") from exc
            remember(ctx, page, kind="feed", entries=[e.to_state() for e in entries])
        else:
            entries = [FeedEntry.from_state(e) for e in keep_unchanged(ctx, page).get("entries", [])]
        if not entries:
            raise CrawlFailure(f"the feed {feed_url} lists no articles")
        results = await asyncio.gather(*(self._entry(e, ctx) for e in entries))
        failed = [r for r in results if isinstance(r, str)]
        if len(failed) == len(entries):
            raise CrawlFailure(f"all {len(entries)} articles failed, first: {failed[0]}")
        return [r for r in results if isinstance(r, RawDocument)]

    async def _entry(self, entry: FeedEntry, ctx: CrawlContext) -> RawDocument | str | None:
        try:
            return await self.crawl_article(entry.link, ctx, entry)
        except CrawlFailure as exc:
            note_failure(ctx, entry.link, exc.reason)
            return exc.reason

    async def crawl_article(self, url: str, ctx: CrawlContext, entry: FeedEntry | None = None) -> RawDocument | None:
        """One article page as a document; None when the page is unchanged since the last crawl."""
        page = await fetch_page(ctx, url)
        if not page.changed:
            keep_unchanged(ctx, page)
            return None
        doc = self.document(extract_article(page.result.text or "", page.final_url, self.rules()), page, ctx, entry)
        remember(ctx, page, [doc], kind="article")
        return doc

    def document(self, art: Article, page: Page, ctx: CrawlContext, entry: FeedEntry | None = None) -> RawDocument:
        """An extracted article as an ArticleDocument; feed metadata fills what the page lacks."""
        if not art.markdown.strip():
            raise CrawlFailure("no article text found on the page")
        entry = entry or FeedEntry(link=page.url)
        canonical = art.canonical if art.canonical and _same_site(art.canonical, page.final_url) else None
        return ArticleDocument(
            platform=self.platform,
            link=clean_link(canonical or page.final_url),
            author_id=ctx.author.id,
            author_name=ctx.author.full_name,
            title=art.title or entry.title,
            content={"subtitle": art.subtitle, "body": art.markdown},
            published_at=art.published or entry.published,
            metadata={"tags": merge_tags(entry.tags, art.tags), "url": page.final_url, "crawler": self.name},
        )


def _same_site(a: str, b: str) -> bool:
    return urlsplit(a).netloc.lower() == urlsplit(b).netloc.lower()
