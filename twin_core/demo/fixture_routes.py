"""URL routing for the fixture site: which page, feed or fault each path gets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from twin_core.demo import fixture_faults as faults
from twin_core.demo import fixture_feeds as feeds
from twin_core.demo import fixture_pages as pages
from twin_core.demo.fixture_corpus import Doc, linkedin_export_bytes, load_author, load_docs, newest_mtime

if TYPE_CHECKING:
    from twin_core.demo.fixture_site import FixtureSite

HTML = "text/html; charset=utf-8"
FIXED_MTIME = 1735689600.0  # 2025-01-01T00:00:00Z, for pages with no source file
ROBOTS = "User-agent: *\nDisallow: /private/\n\nSitemap: {base}/sitemap.xml\n"
LANDING = "<!DOCTYPE html><html><head><title>Fixture site</title></head><body><ul>{items}</ul></body></html>"


@dataclass
class Response:
    """What a route produces; the handler adds validators and handles conditional GET."""

    status: int = 200
    body: bytes = b""
    content_type: str = HTML
    mtime: float | None = FIXED_MTIME
    headers: dict[str, str] = field(default_factory=dict)
    stream: Callable[[], Iterator[bytes]] | None = None
    length: int = 0
    etag: str | None = None


def html_response(text: str, mtime: float | None = FIXED_MTIME, status: int = 200) -> Response:
    return Response(status=status, body=text.encode("utf-8"), mtime=mtime)


def route(site: FixtureSite, path: str, base: str) -> Response:
    """Map a request path to a Response; content is re-read from disk every time."""
    corpus = site.corpus_dir
    author = load_author(corpus)
    handle = author["handle"]
    author_mtime = (corpus / "author.yaml").stat().st_mtime

    def docs(kind: str) -> tuple[list[Doc], float]:
        found = load_docs(corpus, kind)
        return found, max(author_mtime, newest_mtime([d.path for d in found]))

    def one(kind: str, slug: str) -> tuple[Doc | None, float]:
        found = [d for d in load_docs(corpus, kind) if d.slug == slug]
        return (found[0], max(author_mtime, found[0].mtime)) if found else (None, 0.0)

    if path == "/":
        links = [f"/medium/@{handle}", f"/medium/feed/@{handle}", "/substack/", "/substack/feed", "/blog/",
                 "/blog/feed.xml", "/linkedin/export.zip", "/robots.txt", "/sitemap.xml"]  # fmt: skip
        items = "".join(f'<li><a href="{u}">{u}</a></li>' for u in links)
        return html_response(LANDING.format(items=items))
    if path == "/robots.txt":
        return Response(body=ROBOTS.format(base=base).encode(), content_type="text/plain; charset=utf-8")
    if path == "/sitemap.xml":
        return _sitemap(corpus, base, handle)
    if path == "/private/secret.html":
        return html_response(faults.small_article("Private notes", "Robots.txt asks crawlers not to read this page."))
    if path.startswith("/faults/"):
        return _fault(site, path.removeprefix("/faults/"), base)
    if m := re.fullmatch(r"/medium/@([\w.-]+)/?", path):
        if m[1] != handle:
            return html_response(faults.not_found(path), status=404)
        found, mtime = docs("medium")
        return html_response(pages.medium_profile(found, author, base), mtime)
    if path in (f"/medium/feed/@{handle}", f"/medium/feed/@{handle}/"):
        found, mtime = docs("medium")
        feed = feeds.rss_feed(
            found, author, title=f"Stories by {author['full_name']} on Medium", link=f"{base}/medium/@{handle}",
            self_url=f"{base}{path}", item_url=lambda d: f"{base}/medium/@{handle}/{d.slug}",
        )  # fmt: skip
        return Response(body=feed.encode(), content_type="application/rss+xml; charset=utf-8", mtime=mtime)
    if (m := re.fullmatch(r"/medium/@([\w.-]+)/([\w-]+)/?", path)) and m[1] == handle:
        doc, mtime = one("medium", m[2])
        if doc:
            others = [d for d in load_docs(corpus, "medium") if d.slug != doc.slug]
            return html_response(pages.medium_article(doc, author, base, others), mtime)
    if path in ("/substack", "/substack/"):
        found, mtime = docs("substack")
        page = pages.listing_page(found, author["newsletter"], "/substack/feed", "application/rss+xml",
                                  lambda d: f"/substack/p/{d.slug}")  # fmt: skip
        return html_response(page, mtime)
    if path == "/substack/feed":
        found, mtime = docs("substack")
        feed = feeds.rss_feed(
            found, author, title=author["newsletter"], link=f"{base}/substack/", self_url=f"{base}{path}",
            item_url=lambda d: f"{base}/substack/p/{d.slug}",
        )  # fmt: skip
        return Response(body=feed.encode(), content_type="application/rss+xml; charset=utf-8", mtime=mtime)
    if m := re.fullmatch(r"/substack/p/([\w-]+)/?", path):
        doc, mtime = one("substack", m[1])
        if doc:
            return html_response(pages.substack_article(doc, author, base), mtime)
    if path == "/blog":
        return Response(status=301, headers={"Location": "/blog/"}, mtime=None)
    if path == "/blog/":
        found, mtime = docs("blog")
        page = pages.listing_page(found, author["site_title"], "/blog/feed.xml", "application/atom+xml",
                                  lambda d: f"/blog/{d.slug}.html")  # fmt: skip
        return html_response(page, mtime)
    if path == "/blog/feed.xml":
        found, mtime = docs("blog")
        body = feeds.atom_feed(found, author, base).encode()
        return Response(body=body, content_type="application/atom+xml; charset=utf-8", mtime=mtime)
    if m := re.fullmatch(r"/blog/([\w-]+)\.html", path):
        doc, mtime = one("blog", m[1])
        if doc:
            return html_response(pages.blog_article(doc, author, base, docs("blog")[0]), mtime)
    if m := re.fullmatch(r"/render/([\w-]+)/?", path):
        for kind in ("medium", "substack", "blog", "notes"):
            doc, mtime = one(kind, m[1])
            if doc:
                return html_response(pages.js_rendered(doc), mtime)
    if path == "/linkedin/export.zip":
        _, mtime = docs("linkedin/posts")
        mtime = max(mtime, docs("linkedin/articles")[1])
        headers = {"Content-Disposition": 'attachment; filename="Basic_LinkedInDataExport.zip"'}
        body = linkedin_export_bytes(corpus)
        return Response(body=body, content_type="application/zip", mtime=mtime, headers=headers)
    return html_response(faults.not_found(path), status=404)


def _sitemap(corpus: Path, base: str, handle: str) -> Response:
    urls = [f"{base}/medium/@{handle}/{d.slug}" for d in load_docs(corpus, "medium")]
    urls += [f"{base}/substack/p/{d.slug}" for d in load_docs(corpus, "substack")]
    urls += [f"{base}/blog/{d.slug}.html" for d in load_docs(corpus, "blog")]
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    body += "".join(f"<url><loc>{u}</loc></url>\n" for u in urls) + "</urlset>\n"
    return Response(body=body.encode(), content_type="application/xml; charset=utf-8")


def _fault(site: FixtureSite, name: str, base: str) -> Response:
    if name == "flaky" or name.startswith("flaky/"):
        with site._lock:
            first = name not in site._flaky_seen
            site._flaky_seen.add(name)
        if first:
            return html_response(faults.server_error(), status=500)
        return html_response(faults.small_article("Flaky but fine", faults.FLAKY_TEXT))
    if name == "slow":
        if site._stopping.wait(faults.SLOW_SECONDS):
            return html_response(faults.server_error(), status=503)
        return html_response(faults.small_article("Slow page", faults.SLOW_TEXT))
    if name == "binary":
        return Response(body=faults.binary_bytes(), content_type="application/octet-stream")
    if name == "huge":
        return Response(stream=faults.huge_chunks, length=faults.HUGE_SIZE, etag='"huge-20mib-v1"')
    if name == "malformed":
        return html_response(faults.malformed())
    if name == "latin1":
        return Response(body=faults.latin1_bytes(), content_type="text/html; charset=iso-8859-1")
    if name in ("botwall", "botwall200"):
        host = urlsplit(base).netloc
        resp = html_response(faults.botwall(host), status=403 if name == "botwall" else 200)
        resp.headers.update(faults.BOTWALL_HEADERS)
        return resp
    if name == "paywall":
        found = load_docs(site.corpus_dir, "medium")
        author = load_author(site.corpus_dir)
        return html_response(pages.medium_article(found[-1], author, base, found[:-1], member_only=True))
    return html_response(faults.not_found("/faults/" + name), status=404)
