"""Self-query: author, platform and category filters read from the question; authors are resolved, never created."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, Field

from twin_core.domain.documents import Author, Category
from twin_core.domain.ids import normalize_name
from twin_core.rag.settings import SelfQuerySettings
from twin_core.vectorstore.base import SearchFilters

log = logging.getLogger("twin.rag")

#: Words naming a platform -> the ``platform`` value crawlers store on chunks.
PLATFORMS: dict[str, str] = {
    "medium": "medium",
    "substack": "substack",
    "newsletter": "substack",
    "linkedin": "linkedin",
    "github": "github",
}
_PLATFORM_RE = re.compile(r"\b(" + "|".join(PLATFORMS) + r")\b", re.I)
#: Phrases naming a category; deliberately specific ("code" alone is too common a word to filter on).
_CATEGORY_RES: list[tuple[re.Pattern[str], Category]] = [
    (re.compile(r"\b(?:articles?|essays?|blog posts?|newsletter issues?)\b", re.I), Category.ARTICLE),
    (re.compile(r"\b(?:linkedin posts?|posts|short posts?|updates)\b", re.I), Category.POST),
    (
        re.compile(r"\b(?:(?:her|his|their|the|in|source|python) code|repositor(?:y|ies)|repos?|codebase)\b", re.I),
        Category.CODE,
    ),
]
# "written by Jane Doe", "according to Jane", "Jane Doe's posts": a capitalised name the rules may not know.
_NAMED_RE = re.compile(
    r"\b(?:by|from|according to|author|of)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,3})|"
    r"\b([A-Z][\w-]+(?:\s+[A-Z][\w-]+){1,3})'s\b|"
    r"\b(?:did|does|do|would|has|have)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){1,3})\b"
)


@dataclass
class SelfQuery:
    """Filters found in a question: ``matched`` maps each filter to the text that triggered it."""

    filters: SearchFilters = field(default_factory=SearchFilters)
    author_id: str | None = None
    author_name: str | None = None
    matched: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.filters.conditions()


def _author_patterns(author: Author) -> list[str]:
    names = [author.full_name]
    if author.handle:
        names += [author.handle, "@" + author.handle.lstrip("@")]
    return [n for n in names if n.strip()]


def _find_author(query: str, authors: Sequence[Author]) -> tuple[Author, str] | None:
    """The known author whose full name or handle appears in the question (longest match wins)."""
    found: list[tuple[int, Author, str]] = []
    for author in authors:
        for name in _author_patterns(author):
            pattern = r"(?<![\w@])" + r"\s+".join(re.escape(p) for p in name.split()) + r"(?!\w)"
            if m := re.search(pattern, query, re.I):
                found.append((len(m.group(0)), author, m.group(0)))
    if not found:
        return None
    found.sort(key=lambda t: -t[0])
    return found[0][1], found[0][2]


def _resolve_name(name: str, authors: Sequence[Author]) -> Author | None:
    """A known author by normalised full name or handle; None for anyone else (nobody is created)."""
    key = normalize_name(name.lstrip("@"))
    for author in authors:
        if normalize_name(author.full_name) == key or (author.handle and normalize_name(author.handle) == key):
            return author
    return None


def _unknown_names(query: str, authors: Sequence[Author]) -> list[str]:
    out = []
    for m in _NAMED_RE.finditer(query):
        name = (m.group(1) or m.group(2) or m.group(3) or "").strip()
        if name and name.split()[0].lower() not in PLATFORMS and _resolve_name(name, authors) is None:
            out.append(name)
    return out


def _rules(query: str, authors: Sequence[Author]) -> SelfQuery:
    result = SelfQuery()
    fields: dict[str, Any] = {}
    if hit := _find_author(query, authors):
        author, text = hit
        fields["author_id"] = author.id
        result.author_id, result.author_name = author.id, author.full_name
        result.matched["author"] = text
    else:
        for name in _unknown_names(query, authors):
            result.notes.append(f"author {name!r} is not a known author; no author filter")
    platforms = sorted({PLATFORMS[m.group(1).lower()] for m in _PLATFORM_RE.finditer(query)})
    if platforms:
        fields["platform"] = platforms[0] if len(platforms) == 1 else platforms
        result.matched["platform"] = ", ".join(m.group(0) for m in _PLATFORM_RE.finditer(query))
    for pattern, category in _CATEGORY_RES:
        if m := pattern.search(query):
            fields["category"] = str(category)
            result.matched["category"] = m.group(0)
            break
    result.filters = SearchFilters(**fields)
    return result


class _LlmFilters(BaseModel):
    author: str | None = Field(default=None, description="The author's full name if the question names one, else null")
    platform: str | None = Field(default=None, description="medium, substack, linkedin, github or null")
    category: str | None = Field(default=None, description="article, post, code or null")


def _llm(query: str, authors: Sequence[Author], llm: Any) -> SelfQuery:
    known = ", ".join(a.full_name for a in authors) or "(none)"
    messages = [
        {
            "role": "system",
            "content": "You extract search filters from a question. Answer with JSON only; use null when unsure.",
        },
        {"role": "user", "content": f"Known authors: {known}.\nQuestion: {query}"},
    ]
    answer = llm.complete_json(messages, _LlmFilters, temperature=0.0)
    result, fields = SelfQuery(), {}
    if answer.author:
        author = _resolve_name(answer.author, authors)
        if author is None:
            result.notes.append(f"author {answer.author!r} is not a known author; no author filter")
        else:
            fields["author_id"] = author.id
            result.author_id, result.author_name = author.id, author.full_name
            result.matched["author"] = answer.author
    if answer.platform:
        value = PLATFORMS.get(answer.platform.strip().lower())
        if value:
            fields["platform"] = value
            result.matched["platform"] = answer.platform
        else:
            result.notes.append(f"platform {answer.platform!r} ignored (not one of {sorted(set(PLATFORMS.values()))})")
    if answer.category:
        try:
            fields["category"] = str(Category(answer.category.strip().lower()))
            result.matched["category"] = answer.category
        except ValueError:
            result.notes.append(f"category {answer.category!r} ignored")
    result.filters = SearchFilters(**fields)
    return result


def extract_filters(query: str, settings: SelfQuerySettings, authors: Sequence[Author], llm: Any = None) -> SelfQuery:
    """Filters the question asks for. Reads ``authors`` only: an unknown name gives a note, never a new author."""
    if not settings.enabled:
        return SelfQuery(notes=["self-query off"])
    if settings.method == "llm":
        if llm is None:
            result = _rules(query, authors)
            result.notes.append("self_query.method=llm without an LLM client; used the rules")
            return result
        try:
            return _llm(query, authors, llm)
        except Exception as exc:  # an LLM failure must not fail the request: fall back to the rules
            log.warning("self-query by LLM failed, using rules: %s", exc)
            result = _rules(query, authors)
            result.notes.append(f"self-query by LLM failed ({type(exc).__name__}); used the rules")
            return result
    return _rules(query, authors)


def _values(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


def combine_filters(*parts: SearchFilters | None) -> SearchFilters | None:
    """All filters ANDed: a field set in several parts keeps only the values every part allows (maybe none)."""
    merged: dict[str, list[str]] = {}
    for part in parts:
        if part is None:
            continue
        for name, values in part.conditions():
            if name in merged:
                merged[name] = [v for v in merged[name] if v in values]
            else:
                merged[name] = list(dict.fromkeys(values))
    if not merged:
        return None
    out = SearchFilters()
    for name, values in merged.items():
        out = replace(out, **{name: values[0] if len(values) == 1 else values})
    return out
