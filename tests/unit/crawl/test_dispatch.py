"""Which crawler takes which link: by name, by URL pattern (real sites and the fixture site), in config order."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_core.crawl.base import CrawlFailure
from twin_core.crawl.crawlers.article import ArticleCrawler
from twin_core.crawl.crawlers.medium import MediumCrawler, medium_feed_url, medium_kind
from twin_core.crawl.crawlers.substack import SubstackCrawler, substack_feed_url, substack_kind
from twin_core.crawl.crawlers.web import clean_link
from twin_core.crawl.dispatcher import Dispatcher, author_links, check_sources
from twin_core.crawl.settings import AuthorSources, LinkSpec, SourcesSettings

CRAWLERS = [MediumCrawler(), SubstackCrawler(), ArticleCrawler()]


@pytest.mark.parametrize(
    ("url", "crawler"),
    [
        ("https://medium.com/@jane", "medium"),
        ("https://jane.medium.com/", "medium"),
        ("https://medium.com/@jane/a-story-1a2b3c", "medium"),
        ("http://127.0.0.1:8765/medium/@jane", "medium"),
        ("https://jane.substack.com", "substack"),
        ("https://jane.substack.com/p/hello", "substack"),
        ("http://127.0.0.1:8765/substack/", "substack"),
        ("https://jane.dev/blog/", "article"),
        ("http://127.0.0.1:8765/blog/post.html", "article"),
    ],
)
def test_pattern_picks_crawler(url: str, crawler: str) -> None:
    assert Dispatcher(CRAWLERS).pick(LinkSpec(url=url)).name == crawler


def test_name_beats_pattern_and_unknown_names_fail() -> None:
    d = Dispatcher(CRAWLERS)
    assert d.pick(LinkSpec(url="https://news.jane.dev/", crawler="substack")).name == "substack"
    with pytest.raises(CrawlFailure, match="unknown crawler 'nope'"):
        d.pick(LinkSpec(url="https://x.dev/", crawler="nope"))
    with pytest.raises(CrawlFailure, match="no configured crawler matches"):
        Dispatcher([MediumCrawler()]).pick(LinkSpec(url="https://x.dev/"))


@pytest.mark.parametrize(
    ("url", "kind", "feed"),
    [
        ("https://medium.com/@jane", "profile", "https://medium.com/feed/@jane"),
        ("https://jane.medium.com/", "profile", "https://jane.medium.com/feed"),
        ("http://h:1/medium/@jane/", "profile", "http://h:1/medium/feed/@jane"),
        ("https://medium.com/feed/@jane", "feed", None),
        ("https://medium.com/@jane/story-123", "article", None),
    ],
)
def test_medium_urls(url: str, kind: str, feed: str | None) -> None:
    assert medium_kind(url) == kind
    if feed:
        assert medium_feed_url(url) == feed


@pytest.mark.parametrize(
    ("url", "kind", "feed"),
    [
        ("https://jane.substack.com", "publication", "https://jane.substack.com/feed"),
        ("https://jane.substack.com/archive", "publication", "https://jane.substack.com/feed"),
        ("http://h:1/substack/", "publication", "http://h:1/substack/feed"),
        ("https://jane.substack.com/feed", "feed", None),
        ("https://jane.substack.com/p/hello-world", "article", None),
    ],
)
def test_substack_urls(url: str, kind: str, feed: str | None) -> None:
    assert substack_kind(url) == kind
    if feed:
        assert substack_feed_url(url) == feed


def test_clean_link_drops_tracking_only() -> None:
    assert clean_link("https://m.com/@j/s-1?source=rss----1&utm_medium=x&page=2#top") == "https://m.com/@j/s-1?page=2"


def test_files_and_exports_become_links_to_their_crawlers(tmp_path: Path) -> None:
    # routing only: built without validation (which checks that local files exist; tested in tests/unit/config)
    author = AuthorSources.model_construct(
        full_name="J",
        handle=None,
        links=[LinkSpec(url="https://j.dev/")],
        files=[Path("notes")],
        linkedin_exports=["/x.zip"],
    )
    links = author_links(author, 2, root=tmp_path)
    assert [(x.where, x.link.url, x.link.crawler) for x in links] == [
        ("sources.authors[2].links[0]", "https://j.dev/", None),
        ("sources.authors[2].files[0]", str(tmp_path / "notes"), "local_files"),
        ("sources.authors[2].linkedin_exports[0]", "/x.zip", "linkedin_export"),
    ]


def test_check_sources_names_the_entry() -> None:
    sources = SourcesSettings(
        authors=[AuthorSources(full_name="J", links=["https://j.dev/", {"url": "https://j.dev/b", "crawler": "x"}])]
    )
    assert check_sources(sources, CRAWLERS) == [
        "sources.authors[0].links[1].crawler: unknown crawler 'x'; configured: ['article', 'medium', 'substack']"
    ]
