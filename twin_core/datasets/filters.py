"""Rule-based filters (length, language, format, boilerplate) and the funnel that counts every stage."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from twin_core.datasets.settings import FilterSettings, PreferenceSettings
from twin_core.domain.samples import InstructionSample

T = TypeVar("T")
STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        """a about after all also an and any are as at be because been but by can could did do does for from had has
        have he her his how i if in into is it its just like may me more most my no not of on one only or our out over
        she so some than that the their them then there these they this to too up us was we were what when where which
        who why will with would you your""",
    )
)
_FENCE_LINE = re.compile(r"^\s*(```|~~~)", re.M)
_FENCED_BLOCK = re.compile(r"^\s*(```|~~~).*?^\s*\1\s*$", re.M | re.S)
_WORD = re.compile(r"[a-z']+")


@dataclass
class Stage:
    """One step of the funnel: how many went in, how many came out, and why the others were dropped."""

    name: str
    before: int
    after: int
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass
class Funnel:
    """Counts before and after every filter, in order (what the manifest and the card report)."""

    stages: list[Stage] = field(default_factory=list)

    def add(self, name: str, before: int, after: int, dropped: Counter[str] | dict[str, int] | None = None) -> None:
        """Record one stage (reasons sorted, so manifests compare equal)."""
        self.stages.append(Stage(name, before, after, dict(sorted((dropped or {}).items()))))

    def as_list(self) -> list[dict[str, Any]]:
        """JSON-ready stages, in order."""
        return [{"stage": s.name, "before": s.before, "after": s.after, "dropped": s.dropped} for s in self.stages]


def apply(items: Iterable[T], reason: Callable[[T], str | None]) -> tuple[list[T], Counter[str]]:
    """Keep items without a reason; count the reasons of the others."""
    kept, dropped = [], Counter[str]()
    for item in items:
        why = reason(item)
        if why:
            dropped[why] += 1
        else:
            kept.append(item)
    return kept, dropped


def dangling_fence(text: str) -> bool:
    """An odd number of code-fence lines: a code block opened and never closed (or the reverse)."""
    return len(_FENCE_LINE.findall(text)) % 2 == 1


def prose_words(text: str) -> list[str]:
    """Lower-case words outside fenced code blocks and inline code."""
    prose = re.sub(r"`[^`\n]*`", " ", _FENCED_BLOCK.sub(" ", text))
    return _WORD.findall(prose.lower())


def language_reason(text: str, s: FilterSettings) -> str | None:
    """English heuristic: the share of ASCII among letters, then the share of English stopwords among words."""
    if s.language == "any":
        return None
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) / len(letters) < s.min_ascii_letter_ratio:
        return "not_latin_script"
    words = prose_words(text)
    if len(words) >= 20 and sum(w in STOPWORDS for w in words) / len(words) < s.min_stopword_ratio:
        return "not_english"
    return None


def boilerplate_reason(text: str, phrases: Iterable[str]) -> str | None:
    """The first boilerplate phrase found (case-insensitive), as a reason."""
    lower = " ".join(text.lower().split())
    return next((f"boilerplate:{p}" for p in phrases if p.lower() in lower), None)


def sample_reason(sample: InstructionSample, s: FilterSettings) -> str | None:
    """Why a sample fails the rules (``None`` when it passes); language is checked on prose only."""
    instruction, answer = sample.instruction.strip(), sample.answer.strip()
    checks: list[tuple[bool, str]] = [
        (len(instruction) < s.min_instruction_chars, "instruction_too_short"),
        (len(instruction) > s.max_instruction_chars, "instruction_too_long"),
        (len(answer) < s.min_answer_chars, "answer_too_short"),
        (len(answer) > s.max_answer_chars, "answer_too_long"),
        (dangling_fence(answer), "dangling_code_fence"),
        (not re.search(r"\w", answer.replace("#", "")), "no_content"),
    ]
    why = next((reason for failed, reason in checks if failed), None)
    if why:
        return why
    if sample.category != "code":
        why = language_reason(answer, s)
        if why:
            return why
    return boilerplate_reason(f"{instruction}\n{answer}", s.boilerplate)


def normalized(text: str) -> str:
    """Lower-case text with single spaces: the identity used for exact duplicates."""
    return " ".join(text.lower().split())


def preference_reason(chosen: str, rejected: str, s: PreferenceSettings) -> str | None:
    """Why a chosen/rejected pair is unusable: empty or short rejected, broken format, same text, length ratio."""
    rejected = rejected.strip()
    if not rejected:
        return "rejected_empty"
    if len(rejected) < s.min_rejected_chars:
        return "rejected_too_short"
    if dangling_fence(rejected):
        return "rejected_dangling_code_fence"
    if normalized(rejected) == normalized(chosen):
        return "rejected_same_as_chosen"
    longer, shorter = max(len(chosen), len(rejected)), max(min(len(chosen), len(rejected)), 1)
    if longer / shorter > s.max_length_ratio:
        return "length_ratio"
    return None
