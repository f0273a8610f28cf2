"""Back-translation: a templated instruction per extract from its title, heading, lead or code symbols."""

from __future__ import annotations

from twin_core.datasets.backtranslation import (
    ARTICLE_OPENING,
    ARTICLE_SECTION,
    CODE_SUMMARY,
    POST,
    backtranslate,
    choose,
    instruction_for,
    template_set,
    topic_of,
)
from twin_core.datasets.extracts import Extract


def _extract(**kw: object) -> Extract:
    base = {
        "document_id": "d1",
        "category": "article",
        "platform": "medium",
        "author": "Ysolde Brannagh",
        "title": "The 3 a.m. Test for Data Pipelines",
        "text": "When I review a pipeline, I walk through it as if I've just been paged.",
        "position": 0,
        "lead": "When I review a pipeline, I walk through it as if I've just been paged.",
    }
    return Extract(**{**base, **kw})  # type: ignore[arg-type]


def _filled(template: str, e: Extract, seed: int = 0) -> str:
    return template.format(
        title=e.title, heading=e.heading, lead=e.lead, topic=topic_of(e.heading or e.lead), author=e.author,
        noun="Medium article" if e.platform == "medium" else "LinkedIn post", path=e.path, project=e.title,
        symbols=", ".join(f"`{s}`" for s in e.symbols), summary=e.summary, first_line="",
    )  # fmt: skip


def test_each_kind_of_extract_gets_its_template_family() -> None:
    assert template_set(_extract()) == "opening"
    assert template_set(_extract(position=2, heading="The test itself")) == "section"
    assert template_set(_extract(position=2)) == "continuation"
    assert template_set(_extract(category="post", platform="linkedin", title="")) == "post"
    code = _extract(category="code", platform="github", title="hedgerow", path="hedgerow/io.py")
    assert template_set(code) == "code_file"
    assert template_set(Extract(**{**code.__dict__, "id": "", "symbols": ("read_tsv",)})) == "code_symbols"
    assert (
        template_set(Extract(**{**code.__dict__, "id": "", "symbols": ("read_tsv",), "summary": "Read."}))
        == "code_summary"
    )


def test_instructions_fill_every_field_from_the_extract() -> None:
    section = _extract(position=3, heading="The test itself")
    text = instruction_for(section, seed=1)
    assert text in {_filled(t, section) for t in ARTICLE_SECTION}
    assert "The test itself" in text and "{" not in text
    post = _extract(category="post", platform="linkedin", title="", lead="Boring is a feature, not a bug.")
    assert instruction_for(post, seed=1) in {_filled(t, post) for t in POST}
    code = _extract(
        category="code", platform="github", title="hedgerow", path="hedgerow/io.py", symbols=("read_tsv",),
        summary="Reading tab-separated files.",
    )  # fmt: skip
    assert instruction_for(code, 0) == _filled(CODE_SUMMARY[0], code)
    assert instruction_for(code, 0) == "Write `read_tsv` in `hedgerow/io.py` of hedgerow: Reading tab-separated files."


def test_template_choice_is_stable_per_seed_and_varied_across_extracts() -> None:
    extracts = [_extract(document_id=f"d{i}", text=f"Passage {i} about pipelines.") for i in range(30)]
    first = [instruction_for(e, seed=7) for e in extracts]
    assert first == [instruction_for(e, seed=7) for e in extracts]
    prefixes = {t.split("{")[0] for t in ARTICLE_OPENING}
    assert {p for p in prefixes for text in first if text.startswith(p)} == prefixes  # every template gets used
    assert len({choose(("a", "b", "c"), s, "k") for s in range(12)}) > 1  # the seed changes the choice


def test_topic_of_trims_and_lowercases() -> None:
    assert topic_of("Why I stopped saying *real-time*.") == "why I stopped saying real-time"
    assert topic_of("RAG evaluation without labels:") == "RAG evaluation without labels"


def test_backtranslate_keeps_the_author_text_as_the_answer() -> None:
    e = _extract(position=1, heading="Rule one")
    (sample,) = backtranslate([e], seed=42)
    assert sample.answer == e.text and sample.extract_id == e.id and sample.document_id == "d1"
    assert (sample.generator, sample.source, sample.category, sample.platform) == (
        "backtranslation", "author", "article", "medium",
    )  # fmt: skip
