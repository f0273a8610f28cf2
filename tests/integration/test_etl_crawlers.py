"""Medium, Substack and any-article crawlers against the fixture site: what they extract matches the corpus."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from twin_core.crawl.base import Crawler, CrawlFailure
from twin_core.crawl.browser import find_chromium
from twin_core.crawl.crawlers.article import ArticleCrawler
from twin_core.crawl.crawlers.medium import MediumCrawler
from twin_core.crawl.crawlers.substack import SubstackCrawler
from twin_core.crawl.fetcher import SafeFetcher
from twin_core.crawl.incremental import RunContext
from twin_core.crawl.settings import CrawlSettings, LinkSpec
from twin_core.demo import fixture_faults as faults
from twin_core.demo.fixture_corpus import Doc, default_corpus_dir, load_author, load_docs
from twin_core.demo.fixture_site import FixtureSite
from twin_core.domain.documents import Author, RawDocument

pytestmark = pytest.mark.integration

SETTINGS = CrawlSettings(allow_private_networks=True, retries=1, backoff_s=0.05, per_host_rate=500.0)
CORPUS = default_corpus_dir()
HANDLE = load_author(CORPUS)["handle"]


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with FixtureSite() as s:
        yield s


def crawl(crawler: Crawler, url: str, tmp_path: Path, render: bool = False) -> list[RawDocument]:
    async def go() -> list[RawDocument]:
        async with SafeFetcher(SETTINGS) as fetcher:
            ctx = RunContext(SETTINGS, Author(full_name="Ysolde Brannagh"), fetcher, tmp_path)
            return await crawler.crawl(LinkSpec(url=url, render=render), ctx)

    return asyncio.run(go())


def code_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```[^\n]*\n.*?^```$", markdown, re.M | re.S)


def plain_paragraphs(markdown: str) -> list[str]:
    """Paragraphs without Markdown syntax: extraction must give them back verbatim."""
    prose = re.sub(r"^```.*?^```$", "", markdown, flags=re.M | re.S)
    return [p.strip() for p in prose.split("\n\n") if p.strip() and not re.search(r"[*_`\[\]#|>\\]|^\s*(-|\d+\.) ", p)]


def assert_matches_corpus(docs: list[RawDocument], corpus: list[Doc], platform: str) -> None:
    by_title = {d.title: d for d in docs}
    assert sorted(by_title) == sorted(c.title for c in corpus)
    for source in corpus:
        doc = by_title[source.title]
        assert doc.platform == platform and doc.author_name == "Ysolde Brannagh"
        assert doc.content["subtitle"] == source.subtitle
        assert doc.published_at == source.published
        assert doc.metadata["tags"] == source.tags
        assert code_blocks(doc.content["body"]) == code_blocks(source.body)  # language and whitespace kept
        plain = plain_paragraphs(source.body)
        assert plain and all(p in doc.content["body"] for p in plain), source.slug


def test_medium_profile_via_feed(site: FixtureSite, tmp_path: Path) -> None:
    docs = crawl(MediumCrawler(), f"{site.url}/medium/@{HANDLE}", tmp_path)
    assert_matches_corpus(docs, load_docs(CORPUS, "medium"), "medium")
    body = "\n".join(d.content["body"] for d in docs)
    assert not any(x in body for x in ("Recommended from Medium", "Sign up", "min read", "Follow", "Written by"))
    assert any("```python\n" in d.content["body"] for d in docs)


def test_medium_article_url_gives_the_same_document(site: FixtureSite, tmp_path: Path) -> None:
    slug = load_docs(CORPUS, "medium")[0].slug
    (direct,) = crawl(MediumCrawler(), f"{site.url}/medium/@{HANDLE}/{slug}?source=rss----abc", tmp_path)
    via_feed = {d.id: d for d in crawl(MediumCrawler(), f"{site.url}/medium/feed/@{HANDLE}", tmp_path)}
    assert direct.content_hash == via_feed[direct.id].content_hash


def test_substack_publication_via_feed(site: FixtureSite, tmp_path: Path) -> None:
    docs = crawl(SubstackCrawler(), f"{site.url}/substack/", tmp_path)
    assert_matches_corpus(docs, load_docs(CORPUS, "substack"), "substack")
    assert not any("Subscribe" in d.content["body"] or "Discussion about" in d.content["body"] for d in docs)


def test_blog_index_discovered_through_its_atom_feed(site: FixtureSite, tmp_path: Path) -> None:
    docs = crawl(ArticleCrawler(), f"{site.url}/blog/", tmp_path)
    assert_matches_corpus(docs, load_docs(CORPUS, "blog"), "web")
    assert not any("Recent posts" in d.content["body"] or "About me" in d.content["body"] for d in docs)


def test_malformed_and_latin1_pages(site: FixtureSite, tmp_path: Path) -> None:
    (broken,) = crawl(ArticleCrawler(), f"{site.url}/faults/malformed", tmp_path)
    assert faults.MALFORMED_SENTENCE in broken.content["body"]
    (latin,) = crawl(ArticleCrawler(), f"{site.url}/faults/latin1", tmp_path)
    assert latin.title == "Café notes" and faults.LATIN1_TEXT in latin.content["body"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/faults/botwall", "bot wall (Cloudflare challenge)"),
        ("/faults/botwall200", "bot wall (Cloudflare challenge)"),
        ("/faults/paywall", "paywall: member-only story"),
    ],
)
def test_walls_fail_with_their_reason(site: FixtureSite, tmp_path: Path, path: str, reason: str) -> None:
    with pytest.raises(CrawlFailure) as err:
        crawl(ArticleCrawler(), site.url + path, tmp_path)
    assert err.value.reason == reason


def test_render_true_runs_the_page_script(site: FixtureSite, tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): render: true is not tested")
    source = load_docs(CORPUS, "blog")[0]
    (doc,) = crawl(ArticleCrawler(), f"{site.url}/render/{source.slug}", tmp_path, render=True)
    assert doc.title == source.title
    assert code_blocks(doc.content["body"]) == code_blocks(source.body)


def test_render_true_without_chromium_fails_clearly(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawler = ArticleCrawler()
    settings = SETTINGS.model_copy(update={"chromium_path": "/nonexistent/chromium"})

    async def go() -> None:
        async with SafeFetcher(settings) as fetcher:
            ctx = RunContext(settings, Author(full_name="Y"), fetcher, tmp_path)
            await crawler.crawl(LinkSpec(url=f"{site.url}/render/x", render=True), ctx)

    monkeypatch.setattr("twin_core.crawl.browser.CHROMIUM_NAMES", ())
    monkeypatch.delenv("TWIN_CHROMIUM", raising=False)
    with pytest.raises(CrawlFailure, match="render: true needs Chromium, which is not installed"):
        asyncio.run(go())
