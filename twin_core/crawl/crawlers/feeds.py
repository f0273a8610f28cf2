"""RSS and Atom feeds (feedparser): how Medium, Substack and blogs list their articles."""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from twin_core.crawl.extract import merge_tags, parse_date


@dataclass
class FeedEntry:
    """One article a feed lists; its metadata fills gaps the article page leaves."""

    link: str
    title: str = ""
    published: datetime | None = None
    tags: list[str] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        return {**asdict(self), "published": self.published.isoformat() if self.published else None}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> FeedEntry:
        return cls(**{**data, "published": parse_date(data.get("published"))})


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None


def parse_feed(text: str, base_url: str) -> list[FeedEntry]:
    """Entries of an RSS or Atom document, in feed order; ValueError when ``text`` is not a feed.

    The text is passed as bytes so feedparser never treats it as a URL or file name to open itself.
    """
    import feedparser

    parsed = feedparser.parse(text.encode("utf-8"), response_headers={"content-location": base_url})
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise ValueError(f"not an RSS or Atom feed{f': {reason}' if reason else ''}")
    entries = []
    for entry in parsed.entries:
        link = entry.get("link") or next((x.get("href") for x in entry.get("links", []) if x.get("href")), "")
        if not link:
            continue
        entries.append(
            FeedEntry(
                link=str(link),
                title=str(entry.get("title", "")).strip(),
                published=_when(entry),
                tags=merge_tags([t.get("term", "") for t in entry.get("tags", []) if t.get("term")]),
            )
        )
    return entries


def is_feed(content_type: str, text: str) -> bool:
    """Whether a response is a feed: by media type, or an XML body whose root is <rss>, <feed> or <rdf:RDF>."""
    if content_type in ("application/rss+xml", "application/atom+xml", "application/rdf+xml"):
        return True
    head = text[:1024].lstrip().lower()
    return content_type.endswith("xml") and any(tag in head for tag in ("<rss", "<feed", "<rdf:rdf"))
