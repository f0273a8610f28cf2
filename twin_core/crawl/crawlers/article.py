"""Any article URL (the fallback crawler): one page, a blog index whose feed lists its posts, or a feed itself;
``render: true`` pages go through a headless Chromium first."""

from __future__ import annotations

from bs4 import BeautifulSoup
from pydantic import Field

from twin_core.crawl.base import CrawlContext, CrawlFailure
from twin_core.crawl.browser import render_html
from twin_core.crawl.crawlers.feeds import is_feed
from twin_core.crawl.crawlers.web import WebCrawler
from twin_core.crawl.extract import detect_wall, extract_article, page_info
from twin_core.crawl.fetcher import FetchResult
from twin_core.crawl.incremental import Page, fetch_page, keep_unchanged, remember
from twin_core.crawl.settings import LinkSpec
from twin_core.domain.documents import RawDocument


class ArticleCrawler(WebCrawler):
    """Static extraction (BeautifulSoup + markdownify, trafilatura when no selector fits); feeds for blog indexes."""

    name: str = "article"
    platform: str = "web"
    patterns: list[str] = Field(default_factory=lambda: [r"^https?://"])
    follow_feeds: bool = Field(default=True, description="A page that is not an article but has a feed: crawl it.")

    async def crawl(self, link: LinkSpec, ctx: CrawlContext) -> list[RawDocument]:
        if link.render:
            return [await self.crawl_rendered(link.url, ctx)]
        page = await fetch_page(ctx, link.url, accept=("html", "feed"))
        if not page.changed:
            return await self._unchanged(page, ctx)
        if is_feed(page.result.content_type, page.result.text or ""):
            return await self.crawl_feed(link.url, ctx, page)
        info = page_info(BeautifulSoup(page.result.text or "", "lxml"), page.final_url)
        if self.follow_feeds and info.feeds and not info.is_article:
            remember(ctx, page, kind="index", feed=info.feeds[0])
            return await self.crawl_feed(info.feeds[0], ctx)
        doc = self.document(extract_article(page.result.text or "", page.final_url, self.rules()), page, ctx)
        remember(ctx, page, [doc], kind="article")
        return [doc]

    async def _unchanged(self, page: Page, ctx: CrawlContext) -> list[RawDocument]:
        """A page unchanged since last time: an index still leads to its feed, whose posts may have changed."""
        kind = page.previous.get("kind")
        if kind == "feed":
            return await self.crawl_feed(page.url, ctx, page)
        state = keep_unchanged(ctx, page)
        if kind == "index" and state.get("feed"):
            return await self.crawl_feed(str(state["feed"]), ctx)
        return []

    async def crawl_rendered(self, url: str, ctx: CrawlContext) -> RawDocument:
        """Render with Chromium (after the same URL, address and robots checks as a fetch), then extract."""
        await ctx.fetcher.check(url)
        html = await render_html(url, ctx.settings, ctx.work_dir)
        wall = detect_wall(html)
        if wall:
            raise CrawlFailure(wall)
        page = Page(url=url, result=FetchResult(url=url, final_url=url, status=200, text=html), changed=True)
        return self.document(extract_article(html, url, self.rules()), page, ctx)
