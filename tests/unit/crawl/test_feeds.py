"""Feed parsing: RSS and Atom entries with links, dates and categories; non-feeds are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twin_core.crawl.crawlers.feeds import FeedEntry, is_feed, parse_feed

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>First</title><link>https://x.example/p/first?source=rss</link>
<pubDate>Tue, 04 Mar 2025 10:30:00 GMT</pubDate><category>sql</category><category>rag</category></item>
<item><title>No link</title></item>
</channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>B</title>
<entry><title>Post</title><link rel="alternate" href="/blog/post.html"/><id>x</id>
<published>2025-01-02T03:04:05+00:00</published><category term="life"/></entry></feed>"""


def test_rss_entries() -> None:
    entries = parse_feed(RSS, "https://x.example/feed")
    assert entries == [
        FeedEntry(
            "https://x.example/p/first?source=rss", "First", datetime(2025, 3, 4, 10, 30, tzinfo=UTC), ["sql", "rag"]
        )
    ]


def test_atom_relative_links_resolve_against_the_feed_url() -> None:
    (entry,) = parse_feed(ATOM, "https://blog.example/blog/feed.xml")
    assert entry.link == "https://blog.example/blog/post.html"
    assert entry.published == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC) and entry.tags == ["life"]


def test_a_url_string_is_parsed_as_text_never_fetched() -> None:
    with pytest.raises(ValueError, match="not an RSS or Atom feed"):
        parse_feed("http://10.0.0.1/feed.xml", "http://x/")


def test_entry_state_round_trip() -> None:
    entry = parse_feed(RSS, "https://x.example/feed")[0]
    assert FeedEntry.from_state(entry.to_state()) == entry


def test_is_feed() -> None:
    assert is_feed("application/atom+xml", "")
    assert is_feed("application/xml", ATOM) and is_feed("text/xml", RSS)
    assert not is_feed("application/xml", "<urlset/>") and not is_feed("text/html", RSS)
