"""Dataset fixtures: hand-made cleaned documents and the demo corpus as cleaned documents."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from twin_core.domain.documents import Category, CleanedDocument
from twin_core.domain.samples import InstructionSample


@pytest.fixture
def make_doc() -> Callable[..., CleanedDocument]:
    def _make(content: str, category: str = "article", title: str = "A title", **kw: object) -> CleanedDocument:
        return CleanedDocument(
            id=str(kw.pop("id", f"doc-{abs(hash((content, title))) % 10**8}")),
            category=Category(category),
            platform=str(kw.pop("platform", "blog")),
            link=str(kw.pop("link", "https://example.org/a")),
            author_id="author-1",
            author_name="Ysolde Brannagh",
            title=title,
            content=content,
            raw_content_hash="h",
        )

    return _make


@pytest.fixture
def make_sample() -> Callable[..., InstructionSample]:
    def _make(answer: str, instruction: str = "Write about pipelines.", **kw: object) -> InstructionSample:
        return InstructionSample(
            instruction=instruction,
            answer=answer,
            document_id=str(kw.pop("document_id", "doc-1")),
            category=str(kw.pop("category", "article")),
            platform=str(kw.pop("platform", "blog")),
            extract_id=str(kw.pop("extract_id", "")),
        )

    return _make


@pytest.fixture(scope="session")
def demo_docs() -> list[CleanedDocument]:
    from twin_core.datasets.demo_docs import demo_cleaned_documents

    return demo_cleaned_documents()
