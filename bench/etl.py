"""Crawl throughput: the crawlers' concurrent fetching vs sequential fetching of the same fixture pages.

    .venv/bin/python bench/etl.py                 # 50 ms per response (the fixture site's delay)
    .venv/bin/python bench/etl.py --delay 0.1

The fixture site (127.0.0.1) sleeps ``--delay`` seconds before every response, standing in for network and
server time. The crawlers (Medium, Substack, blog) crawl their three links concurrently through one SafeFetcher;
every URL they fetch is recorded, then the baseline fetches the same URLs one after another with the same
fetcher. The crawl also runs with the default per-host manners (2 at a time, 5 requests/s), which is what one
real host gets: concurrency pays across hosts, politeness caps it per host.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin_core.crawl.crawlers.article import ArticleCrawler
from twin_core.crawl.crawlers.medium import MediumCrawler
from twin_core.crawl.crawlers.substack import SubstackCrawler
from twin_core.crawl.fetcher import SafeFetcher
from twin_core.crawl.incremental import RunContext
from twin_core.crawl.settings import CrawlSettings, LinkSpec
from twin_core.demo.fixture_corpus import load_author
from twin_core.demo.fixture_site import FixtureSite
from twin_core.domain.documents import Author


class RecordingFetcher(SafeFetcher):
    """A SafeFetcher that remembers every URL it was asked for."""

    def __init__(self, settings: CrawlSettings) -> None:
        super().__init__(settings)
        self.urls: list[str] = []

    async def fetch(self, url: str, **kwargs: Any) -> Any:
        self.urls.append(url)
        return await super().fetch(url, **kwargs)


async def crawl(base: str, settings: CrawlSettings, work: Path) -> tuple[float, int, list[str]]:
    """Crawl the three demo links concurrently; returns (seconds, requests sent, URLs fetched)."""
    handle = load_author(Path(__file__).resolve().parents[1] / "twin_core/demo/corpus")["handle"]
    jobs = [(MediumCrawler(), f"{base}/medium/@{handle}"), (SubstackCrawler(), f"{base}/substack/"),
            (ArticleCrawler(), f"{base}/blog/")]  # fmt: skip
    async with RecordingFetcher(settings) as fetcher:
        author = Author(full_name="Ysolde Brannagh")
        t0 = time.perf_counter()
        results = await asyncio.gather(
            *(c.crawl(LinkSpec(url=u), RunContext(settings, author, fetcher, work)) for c, u in jobs)
        )
        seconds = time.perf_counter() - t0
    assert sum(len(r) for r in results) == 18, "every demo article should be collected"
    return seconds, fetcher.requests, fetcher.urls


async def sequential(urls: list[str], settings: CrawlSettings) -> tuple[float, int]:
    """Fetch ``urls`` one after another; returns (seconds, requests sent)."""
    async with SafeFetcher(settings) as fetcher:
        t0 = time.perf_counter()
        for url in urls:
            await fetcher.fetch(url, accept=("html", "feed"))
        return time.perf_counter() - t0, fetcher.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the fixture site waits per response")
    args = parser.parse_args()
    open_host = CrawlSettings(allow_private_networks=True, concurrency=8, per_host_concurrency=8, per_host_rate=1000)
    polite = CrawlSettings(allow_private_networks=True)  # the shipped defaults: 8 / 2 per host / 5 req/s per host
    one_at_a_time = open_host.model_copy(update={"concurrency": 1, "per_host_concurrency": 1})
    rows = []
    with FixtureSite(delay=args.delay) as site, tempfile.TemporaryDirectory() as tmp:
        seconds, requests, urls = asyncio.run(crawl(site.url, open_host, Path(tmp)))
        rows.append(("crawlers, concurrent (8, no per-host cap)", requests, seconds))
        seq_seconds, seq_requests = asyncio.run(sequential(urls, one_at_a_time))
        rows.append(("same URLs, sequential (baseline)", seq_requests, seq_seconds))
        pol_seconds, pol_requests, _ = asyncio.run(crawl(site.url, polite, Path(tmp)))
        rows.append(("crawlers, default manners (2/host, 5 req/s)", pol_requests, pol_seconds))
    print(f"# bench/etl.py  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  {platform.node()}  {os.cpu_count()} CPUs  "
          f"Python {platform.python_version()}  fixture delay {args.delay * 1000:.0f} ms/response")  # fmt: skip
    print(f"{'run':<46} {'requests':>8} {'seconds':>8} {'pages/s':>8}")
    for name, n, s in rows:
        print(f"{name:<46} {n:>8} {s:>8.2f} {n / s:>8.1f}")
    print(f"concurrent / sequential: {(rows[0][1] / rows[0][2]) / (rows[1][1] / rows[1][2]):.1f}x pages/s")


if __name__ == "__main__":
    main()
