"""Guardrails: input (size, prompt injection, PII) and output (PII, banned terms, length) checks, and a stream guard.

Every decision is logged on ``twin.guardrails`` (extra: guard, action, where, count, detail) and counted in
Prometheus; the PII itself is never logged, only its kind and count.

Output checks work per *segment*: the text is split into whitespace-separated tokens and consecutive tokens are
joined into one segment when a PII match or a multi-word banned term could span the space between them. Each
segment is redacted on its own, so :class:`StreamGuard` can emit a segment as soon as the next token shows that it
is complete, and what it emits is exactly ``check_output(full_text).text``.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from twin_core.guardrails.pii import JOIN_CHARS, redact
from twin_core.guardrails.settings import GuardrailSettings
from twin_core.monitoring.metrics import observe_guardrail

log = logging.getLogger("twin.guardrails")

Action = Literal["allow", "flag", "block", "redact"]

# Built-in prompt-injection patterns (case-insensitive); the settings add their own regexes.
INJECTION_PATTERNS: dict[str, str] = {
    "ignore_instructions": (
        r"\b(?:ignore|disregard|forget|override|skip)\b[\w\s,'-]{0,40}?"
        r"\b(?:previous|prior|above|earlier|preceding|all|any|your|the|these|those|system)\b[\w\s'-]{0,20}?"
        r"\b(?:instructions?|prompts?|rules|directions|guidelines|directives|context)\b"
    ),
    "reveal_system_prompt": (
        r"\b(?:reveal|show|print|repeat|output|display|leak|dump|tell\s+me|give\s+me|what\s+(?:is|are|was|were))\b"
        r"[\w\s'-]{0,30}?\b(?:system|initial|hidden|original|secret|developer)\s+(?:prompt|instructions?|message)s?\b"
    ),
    "persona_jailbreak": (
        r"\byou\s+are\s+now\b[\w\s'-]{0,30}?\b(?:DAN|developer\s+mode|jailbroken|unrestricted|unfiltered|uncensored)\b"
        r"|\b(?:DAN|developer|god)\s+mode\s+(?:enabled|activated|on)\b|\bdo\s+anything\s+now\b|\bjailbreak\b"
    ),
    "role_play_system": (
        r"\b(?:act|role[- ]?play|pretend|behave|respond)\b[\w\s'-]{0,20}?\bas\s+(?:the\s+|a\s+|an\s+)?"
        r"(?:system|administrator|admin|root|developer)\b(?!\s+(?:engineer|design))"
        r"|(?m:^\s*(?:#+\s*)?(?:system|assistant)\s*:)"
    ),
    "special_tokens": (r"</s>|<s>|<\|[a-z_]{2,30}\|>|\[/?INST\]|<</?SYS>>|<start_of_turn>|<end_of_turn>"),
}


class GuardrailBlocked(Exception):
    """A guardrail refused the request: ``status`` is the HTTP status the API answers (413 size, 400 otherwise)."""

    def __init__(self, guard: str, reason: str, status: int = 400) -> None:
        super().__init__(f"{guard}: {reason}")
        self.guard, self.reason, self.status = guard, reason, status


@dataclass(frozen=True)
class Decision:
    """One guardrail decision: which guard, what it did, about what (a pattern name, a PII kind; never the PII)."""

    guard: str
    action: Action
    detail: str = ""
    where: str = ""
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GuardResult:
    """The text after the checks, and every decision taken on it."""

    text: str
    decisions: list[Decision] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(d.action in ("redact", "block") for d in self.decisions)


def _emit(decision: Decision) -> Decision:
    level = logging.WARNING if decision.action == "block" else logging.INFO
    if decision.action == "allow":
        level = logging.DEBUG
    log.log(
        level,
        "guardrail %s %s",
        decision.guard,
        decision.action,
        extra={
            "guard": decision.guard,
            "action": decision.action,
            "where": decision.where,
            "count": decision.count,
            "detail": decision.detail,
        },
    )
    observe_guardrail(decision.guard, decision.action, decision.count)
    return decision


def _pii_decisions(counts: Counter[str], where: str) -> list[Decision]:
    return [Decision("pii", "redact", kind, where, n) for kind, n in sorted(counts.items())]


_TOKEN = re.compile(r"\S+\s*")
_LEADING = re.compile(r"\s*")


class _Output:
    """The per-segment output processing shared by :meth:`Guardrails.check_output` and :class:`StreamGuard`."""

    def __init__(self, settings: GuardrailSettings) -> None:
        out = settings.output
        self.enabled = settings.enabled
        self.kinds = list(out.redact_pii) if settings.enabled else []
        self.max_chars = out.max_chars if settings.enabled else None
        terms = [t.strip() for t in out.banned_terms if t.strip()] if settings.enabled else []
        self.banned = (
            re.compile(
                r"(?<!\w)(?:" + "|".join(r"\s+".join(map(re.escape, t.split())) for t in terms) + r")(?!\w)",
                re.IGNORECASE,
            )
            if terms
            else None
        )
        multi = [t.split() for t in terms if len(t.split()) > 1]
        heads = sorted({re.escape(w) for ws in multi for w in ws[:-1]})
        tails = sorted({re.escape(w) for ws in multi for w in ws[1:]})
        self.join_left = re.compile(r"(?:" + "|".join(heads) + r")\Z", re.IGNORECASE) if heads else None
        self.join_right = re.compile(r"(?:" + "|".join(tails) + r")", re.IGNORECASE) if tails else None
        self.pii: Counter[str] = Counter()
        self.banned_count = 0
        self.truncated = False

    @property
    def active(self) -> bool:
        return bool(self.kinds or self.banned or self.max_chars)

    def joined(self, left: str, space: str, right: str) -> bool:
        """Whether a match could span the whitespace ``space`` between the tokens ``left`` and ``right``."""
        if space == " " and left[-1] in JOIN_CHARS and right[0] in JOIN_CHARS:
            return True
        return bool(self.join_left and self.join_right and self.join_left.search(left) and self.join_right.match(right))

    def split(self, raw: str, final: bool) -> tuple[list[str], str]:
        """Complete segments of ``raw`` and the rest (kept until more text shows where its segment ends)."""
        lead = _LEADING.match(raw).end()  # type: ignore[union-attr]
        tokens = [(m.start(), m.group(0)) for m in _TOKEN.finditer(raw, lead)]
        if not tokens:
            return ([raw] if final and raw else []), ("" if final else raw)
        segments: list[str] = []
        start = 0
        for (_, tok), (nxt_pos, nxt) in itertools.pairwise(tokens):
            nxt_done = final or nxt != nxt.rstrip()  # the next token is whole once whitespace follows it
            if not nxt_done:
                break
            word = tok.rstrip()
            if not self.joined(word, tok[len(word) :], nxt.rstrip()):
                segments.append(raw[start:nxt_pos])
                start = nxt_pos
        if final:
            segments.append(raw[start:])
            return segments, ""
        return segments, raw[start:]

    def process(self, segment: str) -> str:
        if self.kinds:
            segment, counts = redact(segment, self.kinds)
            self.pii.update(counts)
        if self.banned is not None:
            segment, n = self.banned.subn("[removed]", segment)
            self.banned_count += n
        return segment

    def cut(self, text: str) -> str:
        """``text`` cut to ``max_chars`` on a word boundary (needs only ``text[: max_chars + 1]``)."""
        m = self.max_chars
        if m is None or len(text) <= m:
            return text
        self.truncated = True
        if text[m].isspace():
            return text[:m].rstrip()
        head = text[:m]
        j = max(head.rfind(c) for c in " \t\n\r\f\v")
        return head[:j].rstrip() if j >= 0 else head

    def decisions(self, where: str) -> list[Decision]:
        found = _pii_decisions(self.pii, where)
        if self.banned_count:
            found.append(Decision("banned_terms", "redact", "", where, self.banned_count))
        if self.truncated:
            found.append(Decision("length", "redact", f"max_chars={self.max_chars}", where))
        return found


class Guardrails:
    """The configured checks; cheap to build (regexes compile once per instance)."""

    def __init__(self, settings: GuardrailSettings) -> None:
        self.settings = settings
        patterns = dict(INJECTION_PATTERNS)
        for i, extra in enumerate(settings.input.injection_patterns, 1):
            patterns[f"custom_{i}"] = extra
        self._injection = {name: re.compile(p, re.IGNORECASE) for name, p in patterns.items()}

    def check_input(self, text: str, where: str = "query") -> GuardResult:
        """Size, then injection patterns, then PII redaction; raises :class:`GuardrailBlocked` on a refusal."""
        if not self.settings.enabled:
            return GuardResult(text)
        cfg = self.settings.input
        if len(text) > cfg.max_chars:
            _emit(Decision("size", "block", f"{len(text)}>{cfg.max_chars}", where))
            raise GuardrailBlocked("size", f"{where} is {len(text)} characters; the limit is {cfg.max_chars}", 413)
        blocked = self._injected(text) if cfg.injection == "block" else None
        if blocked is not None:
            _emit(Decision("injection", "block", blocked, where))
            raise GuardrailBlocked("injection", f"{where} matches the prompt-injection pattern {blocked!r}", 400)
        return self._screen(text, where)

    def check_context(self, text: str, where: str = "link") -> GuardResult:
        """Untrusted context (a fetched link's text): the input's injection patterns and PII redaction, no size
        limit, and it never raises. With ``input.injection=block`` a match gives an ``injection``/``block``
        decision and empty text (the caller drops the context; the user did nothing wrong); with ``flag`` the
        text is kept (redacted) and the match logged."""
        if not self.settings.enabled:
            return GuardResult(text)
        blocked = self._injected(text) if self.settings.input.injection == "block" else None
        if blocked is not None:
            return GuardResult("", [_emit(Decision("injection", "block", blocked, where))])
        return self._screen(text, where)

    def _injected(self, text: str) -> str | None:
        """The name of the first injection pattern ``text`` matches, if any."""
        return next((name for name, pattern in self._injection.items() if pattern.search(text)), None)

    def _screen(self, text: str, where: str) -> GuardResult:
        """Injection flags (``input.injection=flag``) and PII redaction; an ``allow`` decision when nothing applied."""
        cfg = self.settings.input
        decisions: list[Decision] = []
        if cfg.injection == "flag":
            flagged = [name for name, pattern in self._injection.items() if pattern.search(text)]
            decisions += [_emit(Decision("injection", "flag", name, where)) for name in flagged]
        if cfg.redact_pii:
            text, counts = redact(text, cfg.redact_pii)
            decisions += [_emit(d) for d in _pii_decisions(counts, where)]
        if not decisions:
            decisions.append(_emit(Decision("input", "allow", "", where)))
        return GuardResult(text, decisions)

    def check_output(self, text: str, where: str = "answer") -> GuardResult:
        """PII redaction, banned terms (replaced by ``[removed]``), then the length cut on a word boundary."""
        out = _Output(self.settings)
        if not out.active:
            return GuardResult(text)
        segments, _ = out.split(text, final=True)
        result = out.cut("".join(out.process(s) for s in segments))
        decisions = [_emit(d) for d in out.decisions(where)] or [_emit(Decision("output", "allow", "", where))]
        return GuardResult(result, decisions)

    def stream_guard(self, where: str = "answer") -> StreamGuard:
        return StreamGuard(_Output(self.settings), where)


class StreamGuard:
    """Output checks on a stream: ``feed`` returns what is safe to send now, ``finish`` the rest.

    A token that may still grow into (or join) a PII match or a banned term is held back; the concatenation of
    everything returned equals ``Guardrails.check_output(full_text).text``.
    """

    def __init__(self, out: _Output, where: str = "answer") -> None:
        self._out, self._where = out, where
        self._raw = ""  # text not yet in a complete segment
        self._done = ""  # processed complete segments
        self._emitted = 0
        self._stopped = False  # the length cut is known: the rest of the stream is dropped
        self._finished = False
        self.decisions: list[Decision] = []

    def feed(self, piece: str) -> str:
        if self._finished:
            raise RuntimeError("StreamGuard.feed after finish")
        if self._stopped or not piece:
            return ""
        if not self._out.active:
            return piece
        self._raw += piece
        segments, self._raw = self._out.split(self._raw, final=False)
        return self._advance(segments, final=False)

    def finish(self) -> str:
        if self._finished:
            return ""
        self._finished = True
        if not self._out.active:
            return ""
        text = ""
        if not self._stopped:
            segments, self._raw = self._out.split(self._raw, final=True)
            text = self._advance(segments, final=True)
        self.decisions = [_emit(d) for d in self._out.decisions(self._where)]
        if not self.decisions:
            self.decisions = [_emit(Decision("output", "allow", "", self._where))]
        return text

    def _advance(self, segments: list[str], final: bool) -> str:
        self._done += "".join(self._out.process(s) for s in segments)
        limit = self._out.max_chars
        if final or (limit is not None and len(self._done) > limit):
            if limit is not None and len(self._done) > limit:
                self._stopped = True  # the cut is known: nothing after it can appear
            return self._take(self._out.cut(self._done))
        if limit is None:
            return self._take(self._done)
        # The final text may still be cut on any whitespace from here on: send words, hold trailing whitespace.
        j = max(self._done.rfind(c) for c in " \t\n\r\f\v")
        return self._take(self._done[:j].rstrip()) if j >= 0 else ""

    def _take(self, safe: str) -> str:
        if len(safe) <= self._emitted:
            return ""
        piece = safe[self._emitted :]
        self._emitted = len(safe)
        return piece
