"""RSS 2.0 and Atom feeds for the fixture site, shaped like Medium's, Substack's and a static blog's."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import format_datetime
from html import escape
from typing import Any

from twin_core.demo.fixture_corpus import Doc
from twin_core.demo.fixture_pages import paragraphs


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def rss_feed(
    docs: list[Doc], author: dict[str, Any], *, title: str, link: str, self_url: str, item_url: Callable[[Doc], str]
) -> str:
    """RSS 2.0 with categories and a content:encoded snippet (first two paragraphs)."""
    items = []
    for d in docs:
        snippet = (
            f"<h3>{escape(d.title)}</h3>" + paragraphs(d, 2) + f'<p><a href="{item_url(d)}">Continue reading »</a></p>'
        )
        cats = "".join(f"<category>{cdata(t)}</category>" for t in d.tags)
        items.append(
            f"<item><title>{cdata(d.title)}</title><description>{cdata(d.subtitle)}</description>"
            f'<link>{item_url(d)}</link><guid isPermaLink="false">{item_url(d)}</guid>{cats}'
            f"<dc:creator>{cdata(author['full_name'])}</dc:creator>"
            f"<pubDate>{format_datetime(d.published, usegmt=True)}</pubDate>"
            f"<content:encoded>{cdata(snippet)}</content:encoded></item>"
        )
    built = format_datetime(max(d.published for d in docs), usegmt=True) if docs else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        f"<channel><title>{cdata(title)}</title><description>{cdata(author.get('bio', ''))}</description>"
        f"<link>{link}</link><generator>fixture-site</generator><lastBuildDate>{built}</lastBuildDate>"
        f'<atom:link href="{self_url}" rel="self" type="application/rss+xml"/>\n'
        + "\n".join(items)
        + "\n</channel></rss>\n"
    )


def atom_feed(docs: list[Doc], author: dict[str, Any], base: str) -> str:
    entries = "".join(
        f'<entry><title type="html">{escape(d.title)}</title><link rel="alternate" href="{base}/blog/{d.slug}.html"/>'
        f"<id>{base}/blog/{d.slug}.html</id><published>{d.published.isoformat()}</published>"
        f'<updated>{d.published.isoformat()}</updated><summary type="html">{escape(d.subtitle)}</summary>'
        + "".join(f'<category term="{escape(t)}"/>' for t in d.tags)
        + "</entry>\n"
        for d in docs
    )
    updated = max(d.published for d in docs).isoformat() if docs else "1970-01-01T00:00:00+00:00"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{escape(author.get('site_title', author['full_name']))}</title>"
        f'<link href="{base}/blog/"/><link rel="self" href="{base}/blog/feed.xml"/>'
        f"<updated>{updated}</updated><id>{base}/blog/</id><author><name>{escape(author['full_name'])}</name>"
        f"</author>\n{entries}</feed>\n"
    )
