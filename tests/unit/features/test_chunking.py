"""Chunking strategies: headings, code units, lineage metadata, and the token cap for every strategy."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin_core.domain import Category, CleanedDocument
from twin_core.features.chunking import chunk_document, code_files, code_units, markdown_sections
from twin_core.features.settings import ChunkingSettings, EmbeddingSettings
from twin_core.features.tokens import HFTokenCounter, load_token_counter

PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def counter() -> HFTokenCounter:
    return load_token_counter(EmbeddingSettings(model_id="m", dimension=384))


def _doc(content: str, category: str = "article", **meta: object) -> CleanedDocument:
    return CleanedDocument(
        id="doc-1",
        category=Category(category),
        platform="medium",
        link="https://medium.com/@y/x",
        author_id="a-1",
        author_name="Ysolde Brannagh",
        title="T",
        content=content,
        raw_content_hash="h",
        metadata=meta,
    )


MARKDOWN = """Intro line.

# Title

Under title.

## Part A

```python
# not a heading
x = 1
```

### Deep

Text.

Setext Part
-----------

Last.
"""


def test_markdown_sections_follow_headings_outside_code() -> None:
    sections = markdown_sections(MARKDOWN)
    assert [(path, MARKDOWN[a:b].split("\n", 1)[0]) for (a, b), path in sections] == [
        ((), "Intro line."),
        (("Title",), "# Title"),
        (("Title", "Part A"), "## Part A"),
        (("Title", "Part A", "Deep"), "### Deep"),
        (("Title", "Setext Part"), "Setext Part"),
    ]
    assert "".join(MARKDOWN[a:b] for (a, b), _ in sections) == MARKDOWN


def test_markdown_chunks_keep_heading_path_and_whole_code_blocks(counter: HFTokenCounter) -> None:
    chunks = chunk_document(_doc(MARKDOWN), ChunkingSettings(chunk_size=60, chunk_overlap=0), counter, 256)
    assert [(c.content, c.metadata.get("headings", "")) for c in chunks] == [
        ("Intro line.", ""),
        ("# Title\n\nUnder title.", "Title"),
        ("## Part A\n\n```python\n# not a heading\nx = 1\n```", "Title › Part A"),
        ("### Deep\n\nText.", "Title › Part A › Deep"),
        ("Setext Part\n-----------\n\nLast.", "Title › Setext Part"),
    ]
    small = chunk_document(_doc(MARKDOWN), ChunkingSettings(chunk_size=40, chunk_overlap=0), counter, 256)
    assert ("```python\n# not a heading\nx = 1\n```", "Title › Part A") in [
        (c.content, c.metadata.get("headings", "")) for c in small
    ], "a code block that fits stays whole"


PY = """import os


@decorator
def first(a):
    return a


class Second:
    def method(self):
        return 2


X = 3
"""


def test_python_units_come_from_ast_with_decorators() -> None:
    assert code_units(PY, "m.py") == [(3, 5, "first"), (8, 10, "Second")]


def test_other_languages_use_top_level_regex() -> None:
    js = "const a = 1;\nexport function f() {\n  return 1;\n}\nclass K {}\n"
    assert code_units(js, "m.js") == [(1, 3, "f"), (4, 4, "K")]
    assert code_units("def broken(:\n  pass\n", "bad.py") == [(0, 1, "broken")]


def test_code_chunks_split_by_definition_with_path(counter: HFTokenCounter) -> None:
    header_a, header_b = "==> m.py <==\n", "\n==> notes.txt <==\n"
    content = header_a + PY + header_b + "plain notes\n"
    files = [
        {"path": "m.py", "start": len(header_a), "end": len(header_a) + len(PY)},
        {"path": "notes.txt", "start": len(header_a + PY + header_b), "end": len(content) - 1},
    ]
    doc = _doc(content, "code", files=files)
    assert [p for p, _ in code_files(doc)] == ["m.py", "notes.txt"]
    assert [p for p, _ in code_files(_doc(content, "code"))] == ["m.py", "notes.txt"], "headers when no metadata"
    chunks = chunk_document(doc, ChunkingSettings(chunk_size=60, chunk_overlap=0), counter, 256)
    assert [(c.metadata["path"], c.metadata.get("symbols", ""), c.content) for c in chunks] == [
        ("m.py", "first", "import os\n\n\n@decorator\ndef first(a):\n    return a"),
        ("m.py", "Second", "class Second:\n    def method(self):\n        return 2"),
        ("m.py", "", "X = 3"),
        ("notes.txt", "", "plain notes"),
    ]


def test_every_chunk_keeps_its_lineage(counter: HFTokenCounter) -> None:
    chunks = chunk_document(_doc("word " * 600), ChunkingSettings(), counter, 256)
    assert [c.position for c in chunks] == list(range(len(chunks))) and len(chunks) > 2
    for c in chunks:
        assert (c.document_id, c.author_id, c.author_name, c.category, c.platform, c.link) == (
            "doc-1",
            "a-1",
            "Ysolde Brannagh",
            Category.ARTICLE,
            "medium",
            "https://medium.com/@y/x",
        )
        assert c.metadata["strategy"] == "markdown" and c.metadata["title"] == "T"
    assert len({c.id for c in chunks}) == len(chunks)


def test_recursive_posts_overlap(counter: HFTokenCounter) -> None:
    text = " ".join(f"w{i}" for i in range(100))
    chunks = chunk_document(_doc(text, "post"), ChunkingSettings(chunk_size=100, chunk_overlap=20), counter, 256)
    assert all(len(c.content) <= 100 for c in chunks)
    assert chunks[0].content.split()[-1] == "w26" and chunks[1].content.split()[0] == "w22"
    for prev, nxt in itertools.pairwise(chunks):
        assert prev.content.split()[-5:] == nxt.content.split()[:5], "20 characters of overlap: five words"


WORDS = st.sampled_from(["data", "isn't", "pipeline", "—", "🍞", "`code()`", "https://x.example/a?b=1", "##", "x²"])
LINES = st.lists(
    st.one_of(
        st.lists(WORDS, min_size=1, max_size=30).map(" ".join),
        st.sampled_from(["", "# Heading", "## Sub", "```", "def f(x):", "    return x", "class K:"]),
    ),
    max_size=60,
).map("\n".join)


@PROPS
@given(
    text=LINES,
    category=st.sampled_from(["article", "post", "code"]),
    strategy=st.sampled_from(["recursive", "token", "markdown", "code"]),
    size=st.integers(20, 400),
    cap=st.integers(8, 64),
)
def test_no_strategy_makes_an_empty_or_over_long_chunk(
    counter: HFTokenCounter, text: str, category: str, strategy: str, size: int, cap: int
) -> None:
    s = ChunkingSettings(
        strategies={category: strategy}, chunk_size=size, chunk_overlap=size // 5, max_tokens=cap, token_overlap=2
    )
    chunks = chunk_document(_doc(text, category), s, counter, cap)
    assert all(c.content.strip() for c in chunks)
    assert max(counter.count([c.content for c in chunks]), default=0) <= cap
    if strategy != "token":
        assert all(len(c.content) <= size for c in chunks)
    if text.strip():
        assert chunks, "non-blank text yields at least one chunk"
