"""Sources and crawl settings from the real composed config: bad entries fail with their position."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from twin_core.config.errors import ConfigError
from twin_core.crawl.base import Crawler
from twin_core.crawl.settings import CrawlSettings, LinkSpec


@pytest.mark.parametrize("url", ["htp://x.example", "http://", "https://exa mple.com", "http://x.example:99999/", "x"])
def test_malformed_link_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="is not a URL"):
        LinkSpec(url=url)


def test_malformed_url_in_yaml_names_the_entry(make_settings: Callable[..., object]) -> None:
    with pytest.raises(ConfigError) as err:
        make_settings('sources.authors.0.links=["https://ok.example/", "htp:/broken"]')
    assert "sources.authors[0].links[1].url: 'htp:/broken' is invalid" in str(err.value)


def test_unknown_crawler_name_names_the_entry(make_settings: Callable[..., object]) -> None:
    with pytest.raises(ConfigError, match=r"sources\.authors\[0\]\.links\[0\]\.crawler: unknown crawler 'nope'"):
        make_settings('sources.authors.0.links=[{url: "https://ok.example/", crawler: nope}]')


def test_default_config_builds_the_crawler_registry(make_settings: Callable[..., object]) -> None:
    cfg = make_settings()
    names = [c.name for c in cfg.crawl.crawlers]  # type: ignore[attr-defined]
    assert names[-1] == "article" and {"medium", "substack", "github", "linkedin_export", "local_files"} <= set(names)
    assert all(isinstance(c, Crawler) for c in cfg.crawl.crawlers)  # type: ignore[attr-defined]


def test_crawler_entries_must_be_crawlers_with_unique_names() -> None:
    with pytest.raises(ValueError, match="needs a _target_"):
        CrawlSettings(crawlers=[{"name": "x"}])
    from twin_core.crawl.crawlers.article import ArticleCrawler

    with pytest.raises(ValueError, match="repeated: \\['article'\\]"):
        CrawlSettings(crawlers=[ArticleCrawler(), ArticleCrawler()])
