"""Extracts: prose cut on paragraph and sentence boundaries within the size, sections and code blocks kept whole."""

from __future__ import annotations

import ast
from collections.abc import Callable

from twin_core.datasets.extracts import code_extracts, code_files, make_extracts, markdown_blocks, sentences
from twin_core.domain.documents import CleanedDocument

PARA = "Backfills are where pipelines show their real shape. They run late and touch old data. " * 3


def test_markdown_blocks_keep_fenced_code_whole_across_blank_lines() -> None:
    text = "# Title\n\nIntro line.\n\n```python\ndef f():\n\n    return 1\n```\n\n## Next\n\nMore."
    blocks = markdown_blocks(text)
    assert [b.kind for b in blocks] == ["heading", "para", "code", "heading", "para"]
    assert blocks[2].text == "```python\ndef f():\n\n    return 1\n```"
    assert [b.heading for b in blocks] == ["Title", "Title", "Title", "Next", "Next"]


def test_sentences_split_on_end_punctuation_only() -> None:
    text = 'It broke. Why? "Because" it did! Version 3.5 stays, e.g. here.'
    assert sentences(text) == ["It broke.", "Why?", '"Because" it did!', "Version 3.5 stays, e.g. here."]


def test_prose_packs_paragraphs_up_to_max_and_starts_a_new_extract_per_section(
    make_doc: Callable[..., CleanedDocument],
) -> None:
    body = "\n\n".join([PARA] * 4) + "\n\n## Second section\n\n" + PARA + "\n\n## Tiny\n\nShort."
    extracts = make_extracts(make_doc(body), max_chars=600, min_chars=100)
    texts = [e.text for e in extracts]
    assert all(len(t) <= 600 * 1.5 for t in texts)
    assert all(p.strip() in body for t in texts for p in t.split("\n\n"))  # cut between paragraphs only
    second = next(e for e in extracts if e.text.startswith("## Second section"))
    assert second.heading == "Second section"
    assert second.lead == "Backfills are where pipelines show their real shape."
    assert texts[-1].endswith("## Tiny\n\nShort.")  # a piece under min_chars joins its neighbour
    assert [e.position for e in extracts] == list(range(len(extracts)))
    assert len({e.id for e in extracts}) == len(extracts)


def test_a_long_paragraph_is_cut_between_sentences(make_doc: Callable[..., CleanedDocument]) -> None:
    long_para = " ".join(f"Sentence number {i} explains one more idea about retries." for i in range(40))
    extracts = make_extracts(make_doc(long_para), max_chars=300, min_chars=50)
    assert len(extracts) > 5
    assert all(e.text.endswith("retries.") and len(e.text) <= 300 for e in extracts)
    assert " ".join(e.text for e in extracts) == long_para


def test_a_code_block_longer_than_max_stays_whole(make_doc: Callable[..., CleanedDocument]) -> None:
    code = "```python\n" + "\n".join(f"x{i} = {i}  # a line of code" for i in range(60)) + "\n```"
    extracts = make_extracts(make_doc(f"Intro paragraph here.\n\n{code}\n\nAfter."), max_chars=300, min_chars=10)
    holders = [e for e in extracts if "x0 = 0" in e.text]
    assert len(holders) == 1 and code in holders[0].text
    assert all(e.text.count("```") % 2 == 0 for e in extracts)


SOURCE = (
    '''"""Module doc line."""

import os

CONST = 1


def small(a):
    """Add one."""
    return a + 1


# A comment that belongs to big.
@staticmethod
def big(x):
    """Do a lot."""
'''
    + "\n".join(f"    y{i} = x + {i}" for i in range(40))
    + '''
    return x


class Thing:
    """A thing."""

    def method(self):
        return 1
'''
)


def test_code_is_cut_per_top_level_function_and_a_long_function_stays_whole(
    make_doc: Callable[..., CleanedDocument],
) -> None:
    content = f"==> pkg/mod.py <==\n{SOURCE}\n==> README.md <==\n# Pkg\n\nA package.\n"
    assert [p for p, _ in code_files(content, "x")] == ["pkg/mod.py", "README.md"]
    extracts = code_extracts(make_doc(content, category="code", title="pkg"), max_chars=400)
    by_symbol = {s: e for e in extracts for s in e.symbols}
    assert set(by_symbol) == {"small", "big", "Thing"}
    big = by_symbol["big"]
    assert big.text.startswith("# A comment that belongs to big.\n@staticmethod\ndef big(x):") and len(big.text) > 400
    assert big.summary == "Do a lot." and big.path == "pkg/mod.py"
    for e in extracts:
        if e.path.endswith(".py"):
            ast.parse(e.text)  # every Python extract is complete code
    assert extracts[-1].path == "README.md" and extracts[-1].text == "# Pkg\n\nA package."


def test_demo_corpus_extracts_are_sized_and_traceable(demo_docs: list[CleanedDocument]) -> None:
    by_id = {d.id: d for d in demo_docs}
    extracts = [e for d in demo_docs for e in make_extracts(d, 1200, 200)]
    assert len(extracts) > len(demo_docs) * 3
    assert {e.category for e in extracts} == {"article", "post", "code"}
    for e in extracts:
        doc = by_id[e.document_id]
        assert e.text.strip() and all(line in doc.content for line in e.text.split("\n"))
        assert e.author == "Ysolde Brannagh" and (e.category == "code" or len(e.text) <= 1800)
