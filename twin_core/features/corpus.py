"""Raw documents read straight from a corpus folder (the demo corpus layout), for tests and benchmarks.

The crawler is the real way in; this reader only mirrors what it produces, without a network or a warehouse.
"""

from __future__ import annotations

import re
from pathlib import Path

from twin_core.demo.fixture_corpus import default_corpus_dir, split_front_matter
from twin_core.demo.fixture_corpus import load_author as fixture_author
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


def load_author(corpus_dir: Path) -> Author:
    """The corpus's author from ``author.yaml`` (``full_name``, ``handle``)."""
    meta = fixture_author(corpus_dir)
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
            meta, body = split_front_matter(path.read_text(encoding="utf-8"))
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
