"""Cleaners per category: normalise unicode and whitespace, strip page boilerplate; code, URLs and quotes survive."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from fnmatch import fnmatch
from functools import lru_cache
from typing import Any

from twin_core.domain.documents import CleanedDocument, RawDocument
from twin_core.features.settings import CleaningSettings

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
FILE_HEADER = "==> {path} <==\n"

# Invisible or look-alike characters mapped the way NFKC would, without NFKC's meaning changes (x² stays x²).
_CHAR_MAP: dict[int, str | None] = {
    **{cp: " " for cp in (0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)},
    **{cp: None for cp in (0x00AD, 0x200B, 0x2060, 0xFEFF)},
    0x2028: "\n",
    0x2029: "\n",
    **{cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)},
    **dict(zip(map(ord, "ﬀﬁﬂﬃﬄﬅﬆ"), ["ff", "fi", "fl", "ffi", "ffl", "st", "st"], strict=True)),
    **{cp: None for cp in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)},
}

# Whole lines (after Markdown decoration is peeled off) that are page furniture, not writing.
BOILERPLATE: tuple[str, ...] = (
    r"sign (?:up|in)(?: to .{0,60})?",
    r"(?:follow|following|unfollow)",
    r"subscribe(?: now| for free| to .{0,60})?",
    r"share(?: this (?:post|article|story))?",
    r"share on (?:twitter|x|facebook|linkedin|bluesky|threads).{0,40}",
    r"copy link",
    r"listen",
    r"👏\s*[\d.,]+[km]?|[\d.,]+[km]? claps?|[\d.]+k|claps?",
    r"[\d.,]+[km]? followers",
    r"get the medium app",
    r"open in app",
    r"member-only story",
    r"\d+ min read(?: · .{0,40})?",
    r"written by .{1,60}",
    r"more from .{1,60}",
    r"recommended from medium",
    r"responses?(?: \(\d+\))?",
    r"write a response",
    r"see (?:all|more) responses",
    r"(?:like|comment|repost|send|reply)",
    r"report this (?:post|article|comment)",
    r"…?\.{0,3} ?see more",
    r"[\d,]+ (?:reactions?|comments?|reposts?|likes?)",
    r"thanks for reading .{1,80}subscribe.{0,120}",
    r"see more recommendations",
    r"no comments yet.{0,80}",
    r"originally published (?:at|on|in) .{1,300}",
    r"discover more from .{1,80}",
    r"upgrade to paid",
    r"leave a comment",
    r"type your email.{0,20}",
    r"already have an account\?.{0,20}",
)
_DECORATION = " \t*_#>-|"
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


@lru_cache(maxsize=8)
def _boilerplate_re(extra: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"^(?:" + "|".join((*BOILERPLATE, *extra)) + r")[\s.!:…]*$", re.IGNORECASE)


def normalize_unicode(text: str) -> str:
    """NFC, one newline style, odd spaces -> space, invisible characters dropped, ligatures and full-width unfolded."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.translate(_CHAR_MAP)


def closes_fence(line: str, fence: str) -> bool:
    """A closing fence: the opener's character, at least as many, nothing else on the line."""
    bare = line.strip()
    return len(bare) >= len(fence) and set(bare) == {fence[0]} and len(line) - len(line.lstrip(" ")) < 4


def _collapse_spaces(line: str) -> str:
    """Single spaces between words, leading indentation and inline code spans left as they are."""
    body = line.lstrip(" \t")
    indent = line[: len(line) - len(body)]
    if len(indent.expandtabs(4)) >= 4:
        return line.rstrip()  # an indented code block, or a deep list continuation
    out, last = [], 0
    for m in INLINE_CODE.finditer(body):
        out.append(re.sub(r"[ \t]+", " ", body[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(re.sub(r"[ \t]+", " ", body[last:]))
    return (indent + "".join(out)).rstrip()


def is_boilerplate(line: str, extra: Iterable[str] = ()) -> bool:
    """True when the whole line, links unwrapped and decoration peeled, is page furniture (e.g. 'Follow')."""
    bare = _LINK.sub(r"\1", line).strip(_DECORATION)
    if not bare or len(bare) > 320:
        return False
    return bool(_boilerplate_re(tuple(extra)).match(bare))


def clean_prose(text: str, settings: CleaningSettings) -> str:
    """Clean Markdown or plain prose; fenced code blocks pass through untouched (besides newlines and NFC)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = unicodedata.normalize("NFC", text)
    lines: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opener = FENCE.match(line)
        if fence is not None:
            lines.append(line)
            if closes_fence(line, fence):
                fence = None
            continue
        if opener:
            fence = opener.group(1)
            lines.append(line.rstrip())
            continue
        line = _collapse_spaces(line.translate(_CHAR_MAP))
        if settings.strip_boilerplate and is_boilerplate(line, settings.extra_boilerplate):
            continue
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip("\n")


def _ordered_parts(content: dict[str, str], first: tuple[str, ...]) -> list[str]:
    keys = [k for k in first if k in content] + sorted(k for k in content if k not in first)
    return [content[k] for k in keys if content[k].strip()]


def clean_article(raw: RawDocument, settings: CleaningSettings) -> tuple[str, dict[str, Any]]:
    """Subtitle, then body (Markdown), each cleaned as prose."""
    parts = [clean_prose(p, settings) for p in _ordered_parts(raw.content, ("subtitle", "body"))]
    return "\n\n".join(p for p in parts if p), {}


def clean_post(raw: RawDocument, settings: CleaningSettings) -> tuple[str, dict[str, Any]]:
    """A social post's text cleaned as prose; line breaks, hashtags and emoji kept."""
    parts = [clean_prose(p, settings) for p in _ordered_parts(raw.content, ("text",))]
    return "\n\n".join(p for p in parts if p), {}


def clean_code(raw: RawDocument, settings: CleaningSettings) -> tuple[str, dict[str, Any]]:
    """Files in path order, each under a ``==> path <==`` header, byte for byte; binary and excluded files left out."""
    pieces: list[str] = []
    files: list[dict[str, Any]] = []
    offset = 0
    for path in sorted(raw.content):
        text = raw.content[path]
        if not text.strip() or "\x00" in text or any(fnmatch(path, pat) for pat in settings.code_exclude):
            continue
        header = ("\n" if pieces else "") + FILE_HEADER.format(path=path)
        start = offset + len(header)
        tail = "" if text.endswith("\n") else "\n"
        pieces.append(header + text + tail)
        files.append({"path": path, "start": start, "end": start + len(text)})
        offset = start + len(text) + len(tail)
    return "".join(pieces), {"files": files}


CLEANERS: dict[str, Callable[[RawDocument, CleaningSettings], tuple[str, dict[str, Any]]]] = {
    "article": clean_article,
    "post": clean_post,
    "code": clean_code,
}


def clean_document(raw: RawDocument, settings: CleaningSettings) -> CleanedDocument:
    """The cleaned document of ``raw`` (same id), carrying its raw content hash and which cleaner ran."""
    name = settings.strategies[raw.category.value]
    content, extra = CLEANERS[name](raw, settings)
    title = " ".join(normalize_unicode(raw.title).split())
    return CleanedDocument(
        id=raw.id,
        category=raw.category,
        platform=raw.platform,
        link=raw.link,
        author_id=raw.author_id,
        author_name=raw.author_name,
        title=title,
        content=content,
        raw_content_hash=raw.content_hash,
        metadata={**raw.metadata, **extra, "cleaner": name},
        published_at=raw.published_at,
    )
