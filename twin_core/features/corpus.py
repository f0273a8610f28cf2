"""Raw documents read straight from a corpus folder (the demo corpus layout), for tests and benchmarks.

The crawler is the real way in; this reader only mirrors what it produces, without a network or a warehouse.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from twin_core.domain.documents import (
    ArticleDocument,
    Author,
    PostDocument,
    RawDocument,
    RepositoryDocument,
)

# folder -> (platform, document class, link prefix)
LAYOUT: dict[str, tuple[str, type[RawDocument], str]] = {
    "medium": ("medium", ArticleDocument, "https://medium.com/@{handle}/"),
    "substack": ("substack", ArticleDocument, "https://plumbingnotes.substack.com/p/"),
    "blog": ("blog", ArticleDocument, "https://{handle}.example.org/blog/"),
    "linkedin/articles": ("linkedin", ArticleDocument, "https://www.linkedin.com/pulse/"),
    "linkedin/posts": ("linkedin", PostDocument, "https://www.linkedin.com/feed/update/"),
    "notes": ("files", ArticleDocument, "file://notes/"),
}
SKIP_DIRS = {".git", ".ruff_cache", "__pycache__", ".pytest_cache", ".venv", "node_modules"}


def default_corpus_dir() -> Path:
    """The demo corpus shipped in ``twin_core/demo/corpus``."""
    return Path(__file__).resolve().parents[1] / "demo" / "corpus"


def _scalar(raw: str) -> str | list[str]:
    raw = raw.strip()
    if raw.startswith('"') and raw.endswith('"'):
        return str(json.loads(raw))
    if raw.startswith("[") and raw.endswith("]"):
        return [str(_scalar(v)) for v in raw[1:-1].split(",") if v.strip()]
    return raw.strip("'")


def front_matter(text: str) -> tuple[dict[str, str | list[str]], str]:
    """Split ``---`` front matter (flat ``key: value`` lines) from the Markdown body."""
    if not text.startswith("---\n") or (end := text.find("\n---\n", 4)) < 0:
        return {}, text
    meta = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        if sep and not line[:1].isspace():
            meta[key.strip()] = _scalar(value)
    return meta, text[end + 5 :].lstrip("\n")


def load_author(corpus_dir: Path) -> Author:
    """The corpus's author from ``author.yaml`` (``full_name``, ``handle``)."""
    meta, _ = front_matter("---\n" + (corpus_dir / "author.yaml").read_text(encoding="utf-8") + "\n---\n")
    return Author(full_name=str(meta["full_name"]), handle=str(meta.get("handle") or "") or None)


def _text_files(folder: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or SKIP_DIRS.intersection(rel.parts):
            continue
        try:
            files[rel.as_posix()] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (images, caches)
    return files


def load_corpus(corpus_dir: Path | None = None, author: Author | None = None) -> list[RawDocument]:
    """Every document of a corpus folder as the crawler would store it: articles, posts and the repository."""
    corpus_dir = Path(corpus_dir or default_corpus_dir())
    author = author or load_author(corpus_dir)
    handle = author.handle or "author"
    docs: list[RawDocument] = []
    for folder, (platform, cls, prefix) in LAYOUT.items():
        for path in sorted((corpus_dir / folder).glob("*.md")):
            meta, body = front_matter(path.read_text(encoding="utf-8"))
            slug = str(meta.get("slug") or path.stem)
            if cls is PostDocument:
                content = {"text": body}
            else:
                content = {"subtitle": str(meta.get("subtitle", "")), "body": body}
            docs.append(
                cls(
                    platform=platform,
                    link=prefix.format(handle=handle) + slug,
                    author_id=author.id,
                    author_name=author.full_name,
                    title=str(meta.get("title", "")),
                    content=content,
                    metadata={"tags": meta.get("tags", []), "source_file": f"{folder}/{path.name}"},
                )
            )
    repo = corpus_dir / "repo"
    if repo.is_dir() and (files := _text_files(repo)):
        name = re.search(r'^name\s*=\s*"([^"]+)"', files.get("pyproject.toml", ""), re.MULTILINE)
        repo_name = name.group(1) if name else repo.name
        docs.append(
            RepositoryDocument(
                platform="github",
                link=f"https://github.com/{handle}/{repo_name}",
                author_id=author.id,
                author_name=author.full_name,
                title=f"{handle}/{repo_name}",
                content=files,
            )
        )
    return docs
