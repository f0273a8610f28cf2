"""Cleaned documents made straight from the demo corpus (no crawl, no feature step): for tests and quick tries."""

from __future__ import annotations

from pathlib import Path

from twin_core.demo.fixture_corpus import default_corpus_dir, load_author, parse_date, split_front_matter
from twin_core.domain.documents import Author, Category, CleanedDocument
from twin_core.domain.ids import content_hash, stable_id

PLATFORMS = {"medium": "medium", "substack": "substack", "blog": "blog", "notes": "local", "linkedin": "linkedin"}
CODE_SUFFIXES = (".py", ".md", ".toml")


def _doc(author: Author, platform: str, link: str, category: Category, title: str, content: str) -> CleanedDocument:
    return CleanedDocument(
        id=stable_id("document", platform, link),
        category=category,
        platform=platform,
        link=link,
        author_id=author.id,
        author_name=author.full_name,
        title=title,
        content=content,
        raw_content_hash=content_hash(content),
    )


def demo_cleaned_documents(corpus: Path | None = None) -> list[CleanedDocument]:
    """Articles, posts and notes as cleaned Markdown, and the demo repository as one code document."""
    corpus = corpus or default_corpus_dir()
    author = Author(full_name=str(load_author(corpus)["full_name"]))
    docs = []
    for path in sorted(corpus.glob("*/**/*.md")):
        top = path.relative_to(corpus).parts[0]
        if top not in PLATFORMS:
            continue
        meta, body = split_front_matter(path.read_text(encoding="utf-8"))
        category = Category.POST if "posts" in path.parts else Category.ARTICLE
        subtitle = str(meta.get("subtitle", ""))
        content = f"{subtitle}\n\n{body}".strip() if subtitle else body.strip()
        link = f"https://demo.example/{top}/{meta.get('slug', path.stem)}"
        doc = _doc(author, PLATFORMS[top], link, category, str(meta.get("title", "")), content)
        if "date" in meta:
            doc.published_at = parse_date(str(meta["date"]))
        docs.append(doc)
    files = sorted(p for p in (corpus / "repo").rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES)
    code = "\n".join(
        f"==> {p.relative_to(corpus / 'repo')} <==\n{p.read_text(encoding='utf-8').rstrip()}\n" for p in files
    )
    docs.append(_doc(author, "github", "https://github.com/demo/hedgerow", Category.CODE, "hedgerow", code))
    return docs
