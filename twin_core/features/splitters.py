"""Text splitting on character spans: recursive separators, merging with overlap, token windows, the token cap.

Every function works on ``(start, end)`` offsets into one text, so chunks can always be traced back to the source.
"""

from __future__ import annotations

from collections.abc import Sequence

from twin_core.features.tokens import TokenCounter

Span = tuple[int, int]
PROSE_SEPARATORS: tuple[str, ...] = ("\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", "")
CODE_SEPARATORS: tuple[str, ...] = ("\n\n\n", "\n\n", "\n", " ", "")


def split_spans(text: str, span: Span, size: int, separators: Sequence[str] = PROSE_SEPARATORS) -> list[Span]:
    """Cut ``span`` into contiguous pieces of at most ``size`` characters, at the first separator that occurs.

    A separator stays at the end of the piece before it; pieces still too long are cut with the next separators,
    and the empty separator cuts at exactly ``size`` characters.
    """
    start, end = span
    if end - start <= size:
        return [span] if end > start else []
    for i, sep in enumerate(separators):
        if sep == "":
            return [(s, min(s + size, end)) for s in range(start, end, size)]
        if text.find(sep, start, end) < 0:
            continue
        out: list[Span] = []
        piece = start
        while piece < end:
            hit = text.find(sep, piece, end)
            cut = end if hit < 0 else hit + len(sep)
            out.extend(split_spans(text, (piece, cut), size, separators[i + 1 :]))
            piece = cut
        return out
    return [(s, min(s + size, end)) for s in range(start, end, size)]


def merge_spans(pieces: Sequence[Span], size: int, overlap: int) -> list[Span]:
    """Greedily join contiguous pieces into chunks of at most ``size`` characters.

    A new chunk starts with the trailing pieces of the previous one that fit in ``overlap`` characters.
    """
    chunks: list[Span] = []
    window: list[Span] = []
    for piece in pieces:
        if window and piece[1] - window[0][0] > size:
            chunks.append((window[0][0], window[-1][1]))
            while window and (window[-1][1] - window[0][0] > overlap or piece[1] - window[0][0] > size):
                window.pop(0)
        window.append(piece)
    if window:
        chunks.append((window[0][0], window[-1][1]))
    return chunks


def trim_spans(text: str, spans: Sequence[Span], keep_indent: bool = False) -> list[Span]:
    """Spans without surrounding whitespace (``keep_indent``: only leading blank lines go); empty ones dropped.

    A span that falls inside the previous one after trimming is dropped too.
    """
    out: list[Span] = []
    for start, end in spans:
        while end > start and text[end - 1].isspace():
            end -= 1
        s = start
        while s < end and text[s].isspace():
            s += 1
        if keep_indent and s < end:
            line_start = text.rfind("\n", start, s) + 1
            s = max(start, line_start)
        if s >= end or (out and out[-1][0] <= s and end <= out[-1][1]):
            continue
        out.append((s, end))
    return out


def recursive_chunks(
    text: str, size: int, overlap: int, separators: Sequence[str] = PROSE_SEPARATORS, span: Span | None = None
) -> list[Span]:
    """Recursive character splitting with overlap over ``span`` (the whole text by default)."""
    pieces = split_spans(text, span or (0, len(text)), size, separators)
    return trim_spans(text, merge_spans(pieces, size, overlap))


def _word_start(words: Sequence[int | None], i: int, floor: int) -> int:
    """Move token index ``i`` back to the first token of its word, not below ``floor``."""
    while i > floor and words[i] is not None and words[i] == words[i - 1]:
        i -= 1
    return i


def token_windows(
    text: str, counter: TokenCounter, max_tokens: int, overlap: int, span: Span | None = None
) -> list[Span]:
    """Windows of at most ``max_tokens`` tokens (special tokens included) overlapping by ``overlap`` tokens.

    Window edges fall on word boundaries where the window stays at least half full.
    """
    base = span[0] if span else 0
    offsets, words = counter.offsets(text[base : span[1]] if span else text)
    n, width = len(offsets), max(1, max_tokens - counter.special)
    out: list[Span] = []
    start = 0
    while start < n:
        end = min(start + width, n)
        if end < n:
            snapped = _word_start(words, end, start + width // 2)
            end = snapped if snapped > start + width // 2 else end
        out.append((base + offsets[start][0], base + offsets[end - 1][1]))
        if end >= n:
            break
        nxt = max(end - overlap, start + 1)
        start = max(_word_start(words, nxt, start + 1), start + 1)
    return trim_spans(text, out)


def _cut_at_tokens(text: str, span: Span, counter: TokenCounter, max_tokens: int) -> list[Span]:
    """Cut one over-long span into pieces of ``max_tokens`` (minus specials) tokens, preferably after whitespace."""
    start, end = span
    offsets, _ = counter.offsets(text[start:end])
    width = max(1, max_tokens - counter.special)
    pieces, i = [], 0
    while i < len(offsets):
        j = min(i + width, len(offsets))
        if j < len(offsets):
            for k in range(j, i + width // 2, -1):  # prefer a cut where whitespace precedes token k
                if offsets[k][0] > offsets[k - 1][1]:
                    j = k
                    break
        lo = start + offsets[i][0] if i else start
        hi = start + offsets[j][0] if j < len(offsets) else end
        pieces.append((lo, hi))
        i = j
    return pieces or [span]


def enforce_token_cap(
    text: str, spans: Sequence[Span], counter: TokenCounter, max_tokens: int, keep_indent: bool = False
) -> list[Span]:
    """Split every span above ``max_tokens`` tokens (special tokens included) until none is; order kept."""
    out: list[Span] = []
    todo = list(spans)
    counts = counter.count([text[s:e] for s, e in todo])
    for span, n in zip(todo, counts, strict=True):
        if n <= max_tokens:
            out.append(span)
            continue
        pieces = trim_spans(text, _cut_at_tokens(text, span, counter, max_tokens), keep_indent)
        if len(pieces) == 1 and pieces[0] == span:  # no token boundary helped: halve by characters
            mid = (span[0] + span[1]) // 2
            pieces = trim_spans(text, [(span[0], mid), (mid, span[1])], keep_indent)
        out.extend(enforce_token_cap(text, pieces, counter, max_tokens, keep_indent))
    return out
