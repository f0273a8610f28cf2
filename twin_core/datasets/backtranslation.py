"""Back-translation without an LLM: an instruction from title, heading and lead; the answer is the passage."""

from __future__ import annotations

import hashlib
import re

from twin_core.datasets.extracts import Extract
from twin_core.domain.samples import InstructionSample

PLATFORM_NOUNS = {
    "linkedin": "LinkedIn post",
    "medium": "Medium article",
    "substack": "newsletter issue",
    "github": "repository",
}
ARTICLE_OPENING = (
    "Write the opening of an article titled '{title}'.",
    "Write the introduction to your {noun} '{title}', starting from this idea: {lead}",
    "Begin an article called '{title}' the way {author} would.",
)
ARTICLE_SECTION = (
    "Write the section '{heading}' of an article titled '{title}'.",
    "For your {noun} '{title}', write the part headed '{heading}'.",
    "In the style of {author}, explain '{heading}' as a section of the article '{title}'.",
)
ARTICLE_CONTINUATION = (
    "Continue the article '{title}' with the passage that makes this point: {lead}",
    "In the style of {author}, write the part of '{title}' that begins: {lead}",
)
POST = (
    "Write a {noun} about {topic}.",
    "Write a short {noun}, as {author}, that starts: {lead}",
    "Draft a {noun} on {topic} in {author}'s voice.",
)
CODE_SYMBOLS = (
    "Write {symbols} in `{path}` of the {project} project.",
    "Implement {symbols} (`{path}`) the way {author} writes code.",
    "Show the code in `{path}` that defines {symbols}.",
)
CODE_SUMMARY = ("Write {symbols} in `{path}` of {project}: {summary}",)
CODE_FILE = (
    "Write the part of `{path}` in the {project} project that starts with: {first_line}",
    "Show `{path}` from the {project} project, as {author} wrote it.",
)
TEMPLATE_SETS = {
    "opening": ARTICLE_OPENING,
    "section": ARTICLE_SECTION,
    "continuation": ARTICLE_CONTINUATION,
    "post": POST,
    "code_symbols": CODE_SYMBOLS,
    "code_summary": CODE_SUMMARY,
    "code_file": CODE_FILE,
}


def choose(options: tuple[str, ...], seed: int, key: str) -> str:
    """One option, chosen by a hash of (seed, key): varied across extracts, stable across runs."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return options[int.from_bytes(digest[:8], "big") % len(options)]


def topic_of(text: str, max_words: int = 12) -> str:
    """A short topic: the text without markup or trailing punctuation, lower-cased unless an acronym starts it."""
    words = re.sub(r"[*_`#>\"“”]+", "", text).split()[:max_words]
    topic = " ".join(words).rstrip(".:;!?,-–— ")
    if topic[:2].isupper() or not topic:
        return topic
    return topic[0].lower() + topic[1:]


def _noun(extract: Extract) -> str:
    default = "post" if extract.category == "post" else "blog post"
    return PLATFORM_NOUNS.get(extract.platform, default)


def template_set(extract: Extract) -> str:
    """Which family of templates fits the extract."""
    if extract.category == "code":
        if extract.symbols:
            return "code_summary" if extract.summary else "code_symbols"
        return "code_file"
    if extract.category == "post" or not extract.title:
        return "post"
    if extract.position == 0:
        return "opening"
    return "section" if extract.heading and extract.heading != extract.title else "continuation"


def instruction_for(extract: Extract, seed: int) -> str:
    """The back-translated instruction of one extract."""
    symbols = ", ".join(f"`{s}`" for s in extract.symbols)
    fields = {
        "title": extract.title,
        "heading": extract.heading,
        "lead": extract.lead or topic_of(extract.text),
        "topic": topic_of(extract.heading if extract.heading else (extract.lead or extract.title)),
        "author": extract.author,
        "noun": _noun(extract),
        "path": extract.path,
        "project": extract.title or "this",
        "symbols": symbols,
        "summary": extract.summary,
        "first_line": next((ln.strip() for ln in extract.text.split("\n") if ln.strip()), "")[:120],
    }
    return choose(TEMPLATE_SETS[template_set(extract)], seed, extract.id).format(**fields)


def backtranslate(extracts: list[Extract], seed: int) -> list[InstructionSample]:
    """One instruction/answer pair per extract; the answer is the author's own text, unchanged."""
    return [
        InstructionSample(
            instruction=instruction_for(e, seed),
            answer=e.text,
            document_id=e.document_id,
            category=e.category,
            platform=e.platform,
            extract_id=e.id,
            generator="backtranslation",
        )
        for e in extracts
    ]
