"""Local files and folders: Markdown (front matter), HTML, plain text; PDF and DOCX through unstructured.

PDF and DOCX are read only when unstructured can do it offline: its extras must be installed and the
spaCy model it classifies text with must be present, otherwise the file fails with the missing piece named.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from bs4 import BeautifulSoup
from pydantic import Field

from twin_core.crawl.base import CrawlContext, Crawler, CrawlFailure
from twin_core.crawl.extract import parse_date, to_markdown
from twin_core.crawl.incremental import note_failure
from twin_core.crawl.settings import LinkSpec
from twin_core.domain.documents import ArticleDocument, PostDocument, RawDocument

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "text"}
UNSTRUCTURED_SUFFIXES = {".pdf": "pdf", ".docx": "docx"}
# module -> pip package, per format; en_core_web_sm is what unstructured would otherwise download at first use
_UNSTRUCTURED_NEEDS = {
    "pdf": {
        "pdfminer": "pdfminer.six",
        "pi_heif": "pi-heif",
        "unstructured_inference": "unstructured-inference",
        "en_core_web_sm": "spaCy model en_core_web_sm",
    },
    "docx": {"docx": "python-docx", "en_core_web_sm": "spaCy model en_core_web_sm"},
}
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", "site-packages"}
_DROP_TAGS = ["script", "style", "noscript", "template", "iframe", "nav", "header", "footer", "form", "svg"]
_DATE_META = ("article:published_time", "datePublished", "date", "published", "created", "dc.date")


def html_to_markdown(markup: str | bytes) -> tuple[str, dict[str, str], str]:
    """HTML -> (title, meta name/property -> content, body as Markdown); chrome and scripts are dropped."""
    soup = BeautifulSoup(markup, "lxml")
    meta = {
        str(m.get("name") or m.get("property")): str(m.get("content", ""))
        for m in soup.find_all("meta")
        if (m.get("name") or m.get("property")) and m.get("content") is not None
    }
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    if not title and (h1 := root.find("h1")):
        title = h1.get_text(" ", strip=True)
    return title, meta, to_markdown(root).strip()


def parse_when(value: Any) -> datetime | None:
    """A date, datetime or date string -> aware UTC datetime (bare dates at 00:00 UTC); None if unparseable."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=UTC)
    if not isinstance(value, str):
        return None
    return parse_date(value) or parse_date(value.strip()[:10])


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split YAML front matter (``---`` fenced) from Markdown; malformed front matter stays in the body."""
    match = re.match(r"---\r?\n(.*?)\r?\n---\r?\n", text, re.S)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    return (data, text[match.end() :].lstrip("\r\n")) if isinstance(data, dict) else ({}, text)


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM), falling back to cp1252 and then to replacement characters."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def _partition(kind: str, path: Path) -> str:
    missing = [pkg for mod, pkg in _UNSTRUCTURED_NEEDS[kind].items() if importlib.util.find_spec(mod) is None]
    if missing:
        needs = ", ".join(missing)
        raise CrawlFailure(f"{kind.upper()} needs {needs} (not installed; unstructured cannot read it offline)")
    os.environ.setdefault("SCARF_NO_ANALYTICS", "true")  # unstructured pings analytics on import otherwise
    os.environ.setdefault("DO_NOT_TRACK", "true")
    try:
        if kind == "pdf":
            from unstructured.partition.pdf import partition_pdf

            elements = partition_pdf(filename=str(path), strategy="fast")
        else:
            from unstructured.partition.docx import partition_docx

            elements = partition_docx(filename=str(path))
    except CrawlFailure:
        raise
    except Exception as exc:
        raise CrawlFailure(f"{kind.upper()} could not be read by unstructured: {type(exc).__name__}: {exc}") from exc
    return "\n\n".join(str(e.text).strip() for e in elements if str(e.text).strip())


class LocalFilesCrawler(Crawler):
    """Reads a file, or every supported file under a folder, into article (long) or post (short) documents."""

    name: str = "local_files"
    patterns: list[str] = Field(default_factory=lambda: [r"^file://", r"^(/|\.\.?/|~)"])
    max_files: int = Field(default=2000, gt=0, description="Files read per folder at most.")
    max_file_bytes: int = Field(default=20_000_000, gt=0)
    article_min_words: int = Field(default=250, ge=0, description="Shorter files become posts.")

    async def crawl(self, link: LinkSpec, ctx: CrawlContext) -> list[RawDocument]:
        root = local_path(link.url)
        if not root.exists():
            raise CrawlFailure(f"no such file or folder: {root}")
        if root.is_file():
            return [await asyncio.to_thread(self.read_file, root, ctx)]
        files = [p for p in sorted(_walk(root)) if p.suffix.lower() in TEXT_SUFFIXES | UNSTRUCTURED_SUFFIXES]
        if len(files) > self.max_files:
            log.warning("local files: %s has %d files, reading the first %d", root, len(files), self.max_files)
        docs: list[RawDocument] = []
        failures: list[str] = []
        for path in files[: self.max_files]:
            try:
                docs.append(await asyncio.to_thread(self.read_file, path, ctx))
            except CrawlFailure as exc:
                failures.append(f"{path.name}: {exc.reason}")
                note_failure(ctx, path.as_uri(), exc.reason)
                log.warning("local files: skipped %s: %s", path, exc.reason)
        if not docs:
            raise CrawlFailure("; ".join(failures[:3]) if failures else f"no supported files under {root}")
        return docs

    def read_file(self, path: Path, ctx: CrawlContext) -> RawDocument:
        """One file -> one document, or CrawlFailure naming why not."""
        suffix = path.suffix.lower()
        kind = TEXT_SUFFIXES.get(suffix) or UNSTRUCTURED_SUFFIXES.get(suffix)
        if kind is None:
            raise CrawlFailure(f"unsupported file type {suffix or '(none)'!r}: {path.name}")
        try:
            size = path.stat().st_size
            if size > self.max_file_bytes:
                raise CrawlFailure(f"{path.name} is {size} bytes, over max_file_bytes={self.max_file_bytes}")
            raw = path.read_bytes() if kind in TEXT_SUFFIXES.values() else b""
        except OSError as exc:
            raise CrawlFailure(f"cannot read {path}: {exc.strerror or exc}") from exc
        meta: dict[str, Any] = {}
        if kind == "markdown":
            meta, body = split_front_matter(decode_text(raw))
            heading = re.search(r"^#\s+(.+)$", body, re.M)
            title = str(meta.get("title") or (heading.group(1).strip() if heading else ""))
        elif kind == "html":
            title, html_meta, body = html_to_markdown(raw)
            meta = {"date": next((html_meta[k] for k in _DATE_META if html_meta.get(k)), None)}
        elif kind == "text":
            title, body = "", decode_text(raw)
        else:
            title, body = "", _partition(kind, path)
        if not body.strip():
            raise CrawlFailure(f"{path.name} has no text")
        return self._document(path, kind, title or path.stem, body, meta, ctx)

    def _document(
        self, path: Path, kind: str, title: str, body: str, meta: dict[str, Any], ctx: CrawlContext
    ) -> RawDocument:
        tags = meta.get("tags") or []
        fields: dict[str, Any] = {
            "platform": "local",
            "link": path.resolve().as_uri(),
            "author_id": ctx.author.id,
            "author_name": ctx.author.full_name,
            "title": title,
            "published_at": parse_when(meta.get("date")),
            "metadata": {
                "format": kind,
                "file_name": path.name,
                "words": len(body.split()),
                "tags": [str(t) for t in tags] if isinstance(tags, list) else [str(tags)],
            },
        }
        category = str(meta.get("category") or "")
        if category == "post" or (category != "article" and len(body.split()) < self.article_min_words):
            return PostDocument(content={"text": body.strip()}, **fields)
        subtitle = str(meta.get("subtitle") or meta.get("description") or "")
        return ArticleDocument(content={"subtitle": subtitle, "body": body.strip()}, **fields)


def local_path(url: str) -> Path:
    """A ``file://`` URL, absolute, relative or ``~`` path -> an absolute Path."""
    if url.startswith("file://"):
        parts = urlsplit(url)
        return Path(unquote(parts.path)).resolve()
    return Path(url).expanduser().resolve()


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        found.extend(Path(dirpath) / name for name in filenames if not name.startswith("."))
    return found
