"""Read the demo author corpus from disk, and build the LinkedIn export and git repo from it.

Everything is re-read on each call so a test can edit a copied corpus and see the change.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

KINDS = ("medium", "substack", "blog", "linkedin/posts", "linkedin/articles", "notes")
REPO_COMMIT_DATE = "2025-08-09T15:30:00+00:00"
ZIP_DATE = (2026, 6, 1, 0, 0, 0)
SHARES_HEADER = ["Date", "ShareLink", "ShareCommentary", "SharedUrl", "MediaUrl", "Visibility"]


def default_corpus_dir() -> Path:
    """The corpus shipped with the package (twin_core/demo/corpus)."""
    return Path(__file__).resolve().parent / "corpus"


@dataclass
class Doc:
    """One Markdown document with its front matter."""

    kind: str
    path: Path
    slug: str
    title: str
    subtitle: str
    date: str
    tags: list[str]
    body: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def published(self) -> datetime:
        return parse_date(self.date)

    @property
    def mtime(self) -> float:
        return self.path.stat().st_mtime

    @property
    def words(self) -> int:
        return len(self.body.split())


def parse_date(value: str) -> datetime:
    """ISO date or datetime -> aware UTC datetime; bare dates are taken as 09:00 UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if len(value.strip()) == 10:
        parsed = datetime.combine(parsed.date(), time(9, 0), tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _scalar(raw: str) -> Any:
    raw = raw.strip()
    if raw.startswith('"'):
        return json.loads(raw)
    if raw.startswith("'") and raw.endswith("'"):
        return raw[1:-1].replace("''", "'")
    if raw.startswith("[") and raw.endswith("]"):
        return [_scalar(item) for item in raw[1:-1].split(",") if item.strip()]
    return raw


def parse_simple_yaml(text: str) -> dict[str, Any]:
    """The flat `key: value` subset of YAML the corpus uses (quoted strings, inline lists)."""
    data: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or line[0].isspace():
            raise ValueError(f"line {number}: expected 'key: value', got {line!r}")
        data[key.strip()] = _scalar(value)
    return data


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split '---' delimited front matter from a Markdown body."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError("front matter opened with '---' but never closed")
    return parse_simple_yaml(text[4:end]), text[end + 5 :].lstrip("\n")


def load_author(corpus_dir: Path) -> dict[str, Any]:
    return parse_simple_yaml((corpus_dir / "author.yaml").read_text(encoding="utf-8"))


def load_doc(path: Path, kind: str) -> Doc:
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    try:
        return Doc(
            kind=kind,
            path=path,
            slug=str(meta["slug"]),
            title=str(meta.get("title", "")),
            subtitle=str(meta.get("subtitle", "")),
            date=str(meta["date"]),
            tags=list(meta.get("tags", [])),
            body=body,
            meta=meta,
        )
    except KeyError as exc:
        raise ValueError(f"{path}: front matter is missing {exc.args[0]!r}") from exc


def load_docs(corpus_dir: Path, kind: str) -> list[Doc]:
    """All documents of one kind, newest first."""
    folder = corpus_dir / kind
    docs = [load_doc(p, kind) for p in sorted(folder.glob("*.md"))] if folder.is_dir() else []
    return sorted(docs, key=lambda d: (d.published, d.slug), reverse=True)


def find_doc(corpus_dir: Path, kind: str, slug: str) -> Doc | None:
    return next((d for d in load_docs(corpus_dir, kind) if d.slug == slug), None)


def render_markdown(text: str) -> str:
    """Markdown -> HTML with markdown-it (CommonMark + tables); fenced code keeps language-x classes."""
    from markdown_it import MarkdownIt  # lazy: only the fixture site needs it

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def newest_mtime(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


def share_urn(slug: str) -> str:
    digits = str(int(hashlib.sha256(slug.encode()).hexdigest(), 16))[:18]
    return f"urn:li:share:7{digits}"


def linkedin_export_bytes(corpus_dir: Path) -> bytes:
    """The export archive as bytes; deterministic for a given corpus."""
    author = load_author(corpus_dir)
    posts = load_docs(corpus_dir, "linkedin/posts")
    articles = load_docs(corpus_dir, "linkedin/articles")
    shares = io.StringIO()
    writer = csv.writer(shares)
    writer.writerow(SHARES_HEADER)
    for post in posts:
        link = "https://www.linkedin.com/feed/update/" + share_urn(post.slug).replace(":", "%3A")
        when = post.published.strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow([when, link, post.body.strip(), post.meta.get("shared_url", ""), "", "MEMBER_NETWORK"])
    first, _, last = str(author["full_name"]).partition(" ")
    profile = io.StringIO()
    csv.writer(profile).writerows(
        [["First Name", "Last Name", "Headline", "Summary", "Geo Location"],
         [first, last, "Staff Data Engineer", author.get("bio", ""), author.get("location", "")]]
    )  # fmt: skip
    entries = {"Profile.csv": profile.getvalue(), "Shares.csv": shares.getvalue()}
    for art in articles:
        entries[f"Articles/Articles/{art.slug}.html"] = linkedin_article_html(art)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].encode("utf-8"))
    return buffer.getvalue()


def linkedin_article_html(doc: Doc) -> str:
    """An article as LinkedIn's export writes it: a bare HTML file with title and dates."""
    stamp = doc.published.strftime("%Y-%m-%d %H:%M")
    title = html.escape(doc.title)
    return (
        '<html><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        f'<meta name="created" content="{doc.published.isoformat()}">'
        f'<meta name="published" content="{doc.published.isoformat()}">'
        "</head><body>"
        f'<h1><a href="https://www.linkedin.com/pulse/{doc.slug}">{title}</a></h1>'
        f'<p class="created">Created on {stamp}</p><p class="published">Published on {stamp}</p>'
        f"<div>{render_markdown(doc.body)}</div></body></html>\n"
    )


def build_linkedin_export(corpus_dir: Path, out_zip: Path) -> Path:
    """Write a LinkedIn-style data export (Shares.csv, Articles/Articles/*.html) to out_zip."""
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    out_zip.write_bytes(linkedin_export_bytes(Path(corpus_dir)))
    return out_zip


def build_git_repo(corpus_dir: Path, dest: Path) -> Path:
    """Copy corpus/repo to dest and make one commit with a fixed author and date (same hash every time)."""
    source, dest = Path(corpus_dir) / "repo", Path(dest)
    if not source.is_dir():
        raise FileNotFoundError(f"no repo folder in corpus: {source}")
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"destination is not empty: {dest}")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", ".git")
    shutil.copytree(source, dest, ignore=ignore, dirs_exist_ok=True)
    author = load_author(Path(corpus_dir))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": str(author["full_name"]),
        "GIT_AUTHOR_EMAIL": str(author.get("email", "author@example.org")),
        "GIT_AUTHOR_DATE": REPO_COMMIT_DATE,
        "GIT_COMMITTER_NAME": str(author["full_name"]),
        "GIT_COMMITTER_EMAIL": str(author.get("email", "author@example.org")),
        "GIT_COMMITTER_DATE": REPO_COMMIT_DATE,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    settings = ["-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"]
    for args in (
        ["init", "-q", "--template=", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "hedgerow 0.3.1: small, boring checks for rows of data"],
    ):
        subprocess.run(["git", *settings, *args], cwd=dest, env=env, check=True, capture_output=True)
    return dest
