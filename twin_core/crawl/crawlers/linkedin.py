"""LinkedIn: import of the official data-export archive (Shares.csv posts, Articles/Articles/*.html articles).

The LinkedIn site itself is never scraped: it blocks crawlers and its terms forbid it. Request the export from
Settings > Data privacy > Get a copy of your data, and list the zip (a path or an http(s) URL) as a source.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
import re
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from pydantic import Field

from twin_core.crawl.base import CrawlContext, Crawler, CrawlFailure
from twin_core.crawl.crawlers.local_files import decode_text, html_to_markdown, local_path, parse_when
from twin_core.crawl.incremental import fetch_page, keep_unchanged, remember
from twin_core.crawl.settings import LinkSpec
from twin_core.domain.documents import ArticleDocument, PostDocument, RawDocument

log = logging.getLogger(__name__)

_ARTICLE = re.compile(r"(^|/)Articles/(Articles/)?[^/]+\.html?$", re.I)
_DATE_IN_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%y, %I:%M %p", "%d/%m/%Y %H:%M")


class LinkedInExportCrawler(Crawler):
    """Reads posts and articles from a LinkedIn data-export zip, in memory (nothing is extracted to disk)."""

    name: str = "linkedin_export"
    patterns: list[str] = Field(default_factory=lambda: [r"(?i)linkedin[^?#]*\.zip$"])
    max_archive_bytes: int = Field(
        default=200_000_000, gt=0, description="Local zip size at most (a download is capped by crawl.max_body_bytes)."
    )
    max_member_bytes: int = Field(default=20_000_000, gt=0, description="Uncompressed size of one member at most.")
    max_members: int = Field(default=50_000, gt=0)

    async def crawl(self, link: LinkSpec, ctx: CrawlContext) -> list[RawDocument]:
        if urlsplit(link.url).scheme in ("http", "https"):
            page = await fetch_page(ctx, link.url, accept=("zip",), walls=False)
            if not page.changed:  # 304 or the same bytes as last run: its documents are reported unchanged
                keep_unchanged(ctx, page)
                return []
            docs = await asyncio.to_thread(self.read_archive, io.BytesIO(page.result.content or b""), ctx)
            remember(ctx, page, docs)
            return docs
        path = local_path(link.url)
        if not path.is_file():
            raise CrawlFailure(f"no such export archive: {path}")
        if (size := path.stat().st_size) > self.max_archive_bytes:
            raise CrawlFailure(f"export archive is {size} bytes, over max_archive_bytes={self.max_archive_bytes}")
        return await asyncio.to_thread(self.read_archive, path, ctx)

    def read_archive(self, source: Path | IO[bytes], ctx: CrawlContext) -> list[RawDocument]:
        """All posts and articles of one export; CrawlFailure when it is not a readable LinkedIn export."""
        stats: Counter[str] = Counter()
        try:
            with zipfile.ZipFile(source) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()][: self.max_members]
                safe = [m for m in members if _is_safe(m.filename)]
                stats["unsafe_member"] = len(members) - len(safe)
                shares = next((m for m in safe if PurePosixPath(m.filename).name.lower() == "shares.csv"), None)
                articles = sorted((m for m in safe if _ARTICLE.search(m.filename)), key=lambda m: m.filename)
                if shares is None and not articles:
                    raise CrawlFailure("no Shares.csv or Articles/*.html in the archive: not a LinkedIn export?")
                docs: list[RawDocument] = []
                if shares is not None and (raw := self._member(archive, shares, stats)) is not None:
                    docs += self.posts(decode_text(raw), ctx, stats)
                for member in articles:
                    if (raw := self._member(archive, member, stats)) is not None:
                        docs.append(self.article(member.filename, decode_text(raw), ctx))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            raise CrawlFailure(f"export archive is not a readable zip: {exc}") from exc
        stats = Counter({k: v for k, v in stats.items() if v})
        log.info("linkedin export: %d documents, skipped %s", len(docs), dict(stats) or "nothing")
        if not docs:
            raise CrawlFailure(f"export archive holds no posts or articles (skipped: {dict(stats)})")
        return docs

    def _member(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo, stats: Counter[str]) -> bytes | None:
        if member.file_size > self.max_member_bytes:
            stats["too_large"] += 1
            return None
        try:
            with archive.open(member) as handle:
                data = handle.read(self.max_member_bytes + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError):
            stats["corrupt_member"] += 1
            return None
        if len(data) > self.max_member_bytes:
            stats["too_large"] += 1
            return None
        return data

    def posts(self, text: str, ctx: CrawlContext, stats: Counter[str]) -> list[RawDocument]:
        """Shares.csv -> one post per row with commentary; empty and repeated rows are counted, not kept."""
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            raise CrawlFailure(f"Shares.csv is not readable CSV: {exc}") from exc
        if not rows:
            return []
        header = [h.strip().lower() for h in rows[0]]
        if "sharecommentary" not in header:
            raise CrawlFailure(f"Shares.csv has no ShareCommentary column (header: {rows[0]})")
        col = {name: i for i, name in enumerate(header)}
        seen: set[str] = set()
        docs: list[RawDocument] = []
        for row in rows[1:]:
            row = _realign(row, len(header), col["sharecommentary"])
            value = dict(zip(header, row, strict=False))
            body = clean_commentary(value.get("sharecommentary", ""))
            if not body:
                stats["empty_commentary"] += 1
                continue
            when = parse_export_date(value.get("date", ""))
            digest = hashlib.sha256(f"{value.get('date', '')}\x1f{body}".encode()).hexdigest()[:16]
            link = value.get("sharelink", "").strip() or f"linkedin-export://share/{digest}"
            if link in seen:
                stats["duplicate"] += 1
                continue
            seen.add(link)
            first_line = body.split("\n", 1)[0].strip()
            docs.append(
                PostDocument(
                    platform="linkedin",
                    link=link,
                    author_id=ctx.author.id,
                    author_name=ctx.author.full_name,
                    title=first_line if len(first_line) <= 80 else first_line[:79].rstrip() + "…",
                    content={"text": body},
                    published_at=when,
                    metadata=_post_metadata(value),
                )
            )
        return docs

    def article(self, name: str, markup: str, ctx: CrawlContext) -> RawDocument:
        """One exported article page -> an article document linked to its LinkedIn URL when it names one."""
        soup = BeautifulSoup(markup, "lxml")
        heading = soup.find("h1")
        anchor = heading.find("a", href=True) if heading else None
        href = str(anchor["href"]) if anchor else ""
        title = heading.get_text(" ", strip=True) if heading else ""
        dates: dict[str, datetime | None] = {}
        for kind in ("published", "created"):
            tag = soup.find("p", class_=kind)
            meta = soup.find("meta", attrs={"name": kind})
            found = _DATE_IN_TEXT.search(tag.get_text(" ", strip=True)) if tag else None
            dates[kind] = parse_when(meta.get("content") if meta else None) or (
                parse_export_date(found.group(0)) if found else None
            )
            if tag:
                tag.decompose()
        if heading:
            heading.decompose()
        page_title, _, body = html_to_markdown(str(soup))
        slug = PurePosixPath(name).stem
        link = href if urlsplit(href).scheme in ("http", "https") else f"linkedin-export://article/{slug}"
        return ArticleDocument(
            platform="linkedin",
            link=link,
            author_id=ctx.author.id,
            author_name=ctx.author.full_name,
            title=title or page_title or slug,
            content={"subtitle": "", "body": body},
            published_at=dates["published"] or dates["created"],
            metadata={"source": "linkedin_export", "file": name, "draft": dates["published"] is None},
        )


def clean_commentary(value: str) -> str:
    """Undo LinkedIn's quoting quirks: a field wrapped in an extra pair of quotes, with its quotes doubled."""
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('""', '"').strip()
    return text


def parse_export_date(value: str) -> datetime | None:
    """Dates as LinkedIn exports write them (``2025-01-14 09:00:00``, UTC), or ISO; None if unparseable."""
    value = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return parse_when(value)


def _realign(row: list[str], width: int, commentary: int) -> list[str]:
    """Rows with unquoted commas in the commentary have extra fields: fold them back into it."""
    extra = len(row) - width
    if extra <= 0:
        return row
    return [*row[:commentary], ",".join(row[commentary : commentary + extra + 1]), *row[commentary + extra + 1 :]]


def _post_metadata(value: dict[str, str]) -> dict[str, Any]:
    meta = {"source": "linkedin_export"}
    for key, column in (("shared_url", "sharedurl"), ("media_url", "mediaurl"), ("visibility", "visibility")):
        if value.get(column, "").strip():
            meta[key] = value[column].strip()
    return meta


def _is_safe(name: str) -> bool:
    """A member name that stays inside the archive root (no absolute path, drive or '..')."""
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return False
    return ".." not in re.split(r"[\\/]", name)
