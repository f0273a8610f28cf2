"""LinkedIn export import: tricky Shares.csv, article pages, stable ids, zip-slip and corrupt archives."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from twin_core.crawl.base import CrawlContext, CrawlFailure
from twin_core.crawl.crawlers.linkedin import LinkedInExportCrawler, clean_commentary, parse_export_date
from twin_core.crawl.fetcher import FetchResult
from twin_core.crawl.settings import CrawlSettings, LinkSpec
from twin_core.domain.documents import ArticleDocument, Author, PostDocument, RawDocument

POSTS = [
    ["2025-01-14 09:30:00", "https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A1",
     'First line 🚀\nSecond line with "quotes", commas\n\n#data', "https://example.org/x", "", "MEMBER_NETWORK"],
    ["2025-02-01 10:00:00", "https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A2",
     '"Wrapped by the export, ""doubled"" inside"', "", "", "PUBLIC"],
    ["2025-02-02 10:00:00", "https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A3", "   ", "", "", "PUBLIC"],
]  # fmt: skip
UNQUOTED_ROW = "2025-03-03 08:00:00,https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A4,Hello, world,,,PUBLIC\r\n"
ARTICLE = """<html><head><meta charset="utf-8"><title>Feature stores</title>
<meta name="published" content="2025-04-05T09:00:00+00:00"></head><body>
<h1><a href="https://www.linkedin.com/pulse/feature-stores-jane">Feature stores</a></h1>
<p class="created">Created on 2025-04-01 08:00</p><p class="published">Published on 2025-04-05 09:00</p>
<div><p>Ask <strong>five</strong> questions.</p><pre><code class="language-python">x = 1\n</code></pre></div>
<script>track()</script></body></html>"""
DRAFT = """<html><head><title>Draft</title></head><body><h1>A draft</h1>
<p class="created">Created on 2025-05-06 07:08</p><div><p>Not yet published.</p></div></body></html>"""


def export_zip(extra: dict[str, str] | None = None) -> bytes:
    shares = io.StringIO()
    writer = csv.writer(shares)
    writer.writerow(["Date", "ShareLink", "ShareCommentary", "SharedUrl", "MediaUrl", "Visibility"])
    writer.writerows(POSTS)
    members = {
        "Shares.csv": shares.getvalue() + UNQUOTED_ROW,
        "Articles/Articles/feature-stores.html": ARTICLE,
        "Articles/Articles/a-draft.html": DRAFT,
        "../../Articles/Articles/evil.html": ARTICLE.replace("Feature stores", "Evil"),
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()


@pytest.fixture
def ctx(tmp_path: Path) -> CrawlContext:
    return CrawlContext(CrawlSettings(), Author(full_name="Jane Doe"), fetcher=None, work_dir=tmp_path / "work")


def crawl(url: str, ctx: CrawlContext, **limits: int) -> list[RawDocument]:
    return asyncio.run(LinkedInExportCrawler(**limits).crawl(LinkSpec(url=url), ctx))


def test_posts_and_articles_from_an_export(tmp_path: Path, ctx: CrawlContext) -> None:
    archive = tmp_path / "Basic_LinkedInDataExport.zip"
    archive.write_bytes(export_zip())
    docs = crawl(str(archive), ctx)
    posts = {d.link.rsplit("%3A", 1)[-1]: d for d in docs if isinstance(d, PostDocument)}
    articles = {d.title: d for d in docs if isinstance(d, ArticleDocument)}
    assert sorted(posts) == ["1", "2", "4"], "the empty-commentary row is skipped"
    assert posts["1"].content["text"] == 'First line 🚀\nSecond line with "quotes", commas\n\n#data'
    assert posts["1"].platform == "linkedin" and posts["1"].published_at.isoformat() == "2025-01-14T09:30:00+00:00"
    assert posts["1"].metadata["shared_url"] == "https://example.org/x"
    assert posts["2"].content["text"] == 'Wrapped by the export, "doubled" inside'
    assert posts["4"].content["text"] == "Hello, world"
    assert sorted(articles) == ["A draft", "Feature stores"] and len(docs) == 5, "the zip-slip member is ignored"
    stores = articles["Feature stores"]
    assert stores.link == "https://www.linkedin.com/pulse/feature-stores-jane"
    assert stores.published_at.isoformat() == "2025-04-05T09:00:00+00:00"
    assert "Ask **five** questions." in stores.content["body"] and "```python\nx = 1" in stores.content["body"]
    assert "Published on" not in stores.content["body"] and "track()" not in stores.content["body"]
    draft = articles["A draft"]
    assert draft.link == "linkedin-export://article/a-draft" and draft.metadata["draft"] is True
    assert draft.published_at.isoformat() == "2025-05-06T07:08:00+00:00"


def test_ids_are_stable_across_runs(tmp_path: Path, ctx: CrawlContext) -> None:
    archive = tmp_path / "export-linkedin.zip"
    archive.write_bytes(export_zip())
    first, second = ({(d.id, d.content_hash) for d in crawl(f"file://{archive}", ctx)} for _ in range(2))
    assert first == second and len(first) == 5


def test_download_through_the_fetcher_and_unchanged_on_the_second_run(ctx: CrawlContext) -> None:
    body, sent = export_zip(), []

    class Fetcher:
        async def fetch(self, url: str, **kwargs: object) -> FetchResult:
            sent.append(kwargs)
            return FetchResult(
                url, url, 200, {"etag": '"v1"'}, content=body, etag='"v1"', content_type="application/zip"
            )

    ctx.fetcher = Fetcher()
    url = "https://files.example.org/linkedin.zip"
    assert len(crawl(url, ctx)) == 5
    ctx.previous = {url: {"etag": '"v1"', "body_hash": hashlib.sha256(body).hexdigest()}}
    assert crawl(url, ctx) == [], "the same bytes again: nothing re-extracted"
    assert sent[0]["accept"] == ("zip",) and sent[1]["etag"] == '"v1"'


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04 this is not really a zip", "not a readable zip"),
        (None, "no such export archive"),
        (b"", "not a readable zip"),
    ],
    ids=["corrupt", "missing", "empty"],
)
def test_bad_archives_fail_with_a_reason(tmp_path: Path, ctx: CrawlContext, data: bytes | None, reason: str) -> None:
    archive = tmp_path / "linkedin.zip"
    if data is not None:
        archive.write_bytes(data)
    with pytest.raises(CrawlFailure, match=reason):
        crawl(str(archive), ctx)


def test_a_zip_without_export_files_and_oversized_members(tmp_path: Path, ctx: CrawlContext) -> None:
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(CrawlFailure, match="not a LinkedIn export"):
        crawl(str(other), ctx)
    big = tmp_path / "big.zip"
    big.write_bytes(export_zip())
    with pytest.raises(CrawlFailure, match="too_large"):
        crawl(str(big), ctx, max_member_bytes=100)


def test_commentary_and_date_leniency() -> None:
    assert clean_commentary('  "She said ""hi"""\r\n') == 'She said "hi"'
    assert clean_commentary('Plain "quote" stays') == 'Plain "quote" stays'
    assert parse_export_date("2025-01-14 09:30:00").isoformat() == "2025-01-14T09:30:00+00:00"
    assert parse_export_date("2025-01-14T09:30:00Z").isoformat() == "2025-01-14T09:30:00+00:00"
    assert parse_export_date("not a date") is None
