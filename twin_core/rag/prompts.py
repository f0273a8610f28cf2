"""Prompts: the system prompt, the content type's instructions, retrieved context and links around the question,
rendered with the model's own chat template and trimmed to the token budget (context first, the question never)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from twin_core.llm.chat import render_chat, render_chatml
from twin_core.rag.links import LinkContext
from twin_core.rag.settings import ContentType, RagSettings
from twin_core.vectorstore.base import Hit

#: Used when conf/rag has no content types at all.
DEFAULT_CONTENT_TYPE = ContentType(description="A plain answer.", instructions="Answer the question directly.")
#: A context piece cut shorter than this is left out instead.
MIN_PIECE_CHARS = 80


class UnknownContentType(ValueError):
    """A request asked for a content type conf/rag does not define."""


def resolve_content_type(rag: RagSettings, name: str | None) -> tuple[str, ContentType]:
    """(name, settings) of the requested content type, else the default one."""
    if not rag.content_types:
        return name or "answer", DEFAULT_CONTENT_TYPE
    key = name or rag.default_content_type
    if key not in rag.content_types:
        raise UnknownContentType(f"unknown content_type {key!r}; one of {sorted(rag.content_types)}")
    return key, rag.content_types[key]


def cut_on_word(text: str, max_chars: int | None) -> str:
    """``text`` cut to at most ``max_chars`` characters on a word boundary (unchanged when short enough)."""
    if max_chars is None or len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    if not text[max_chars].isspace() and " " in cut:
        cut = cut.rsplit(None, 1)[0]
    return cut.rstrip()


@dataclass(frozen=True)
class Piece:
    """One context item: a retrieved chunk or a fetched link."""

    label: str
    text: str
    hit: Hit | None = None
    link: LinkContext | None = None


def hit_piece(hit: Hit) -> Piece:
    c = hit.chunk
    title = c.metadata.get("title") or c.link
    return Piece(f"{title} ({c.platform}, {c.category}, {c.link})", c.content, hit=hit)


def link_piece(link: LinkContext) -> Piece:
    return Piece(f"{link.title or link.url} (link given with the question: {link.url})", link.text, link=link)


def _context_block(pieces: Sequence[Piece]) -> str:
    if not pieces:
        return "Context: (nothing relevant was found)"
    body = "\n\n".join(f"[{i}] {p.label}\n{p.text}" for i, p in enumerate(pieces, start=1))
    return "Context:\n" + body


def messages_for(
    query: str,
    pieces: Sequence[Piece],
    content_type: ContentType,
    rag: RagSettings,
    author_name: str,
    history: Sequence[dict[str, str]] = (),
) -> list[dict[str, str]]:
    """System (voice + task), the conversation so far, then context and question in the last user message."""
    system = rag.system_prompt.replace("{author}", author_name) + f"\n\nTask: {content_type.instructions}"
    turns = [{"role": m["role"], "content": m["content"]} for m in history if m.get("role") in ("user", "assistant")]
    user = f"{_context_block(pieces)}\n\nQuestion: {query}"
    return [{"role": "system", "content": system}, *turns, {"role": "user", "content": user}]


def build_messages(
    query: str,
    hits: Sequence[Hit],
    links: Sequence[LinkContext],
    content_type: ContentType,
    rag: RagSettings,
    author_name: str,
    history: Sequence[dict[str, str]] = (),
) -> list[dict[str, str]]:
    """The chat messages with every link and hit as context (links first), capped at ``rag.max_context_chars``."""
    pieces = cap_chars([*map(link_piece, links), *map(hit_piece, hits)], rag.max_context_chars)
    return messages_for(query, pieces, content_type, rag, author_name, history)


def cap_chars(pieces: Sequence[Piece], max_chars: int) -> list[Piece]:
    """Pieces in order until ``max_chars`` of text; the one crossing the cap is cut on a word (or left out)."""
    out, left = [], max_chars
    for p in pieces:
        if len(p.text) <= left:
            out.append(p)
            left -= len(p.text)
            continue
        if left >= MIN_PIECE_CHARS:
            out.append(Piece(p.label, cut_on_word(p.text, left) + " …", p.hit, p.link))
        break
    return out


def render(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The prompt text: the tokenizer's chat template, or ChatML without a tokenizer."""
    if tokenizer is None:
        return render_chatml(messages, add_generation_prompt=True)
    return render_chat(tokenizer, messages, add_generation_prompt=True)


def count_tokens(tokenizer: Any, text: str) -> int:
    """Tokens of ``text`` with the tokenizer; about 4 characters a token without one."""
    if not text:
        return 0
    if tokenizer is None:
        return len(text) // 4 + 1
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


@dataclass
class BuiltPrompt:
    """The rendered prompt, the messages, what context made it in, and its size in tokens."""

    text: str
    messages: list[dict[str, str]]
    hits: list[Hit]
    links: list[LinkContext]
    prompt_tokens: int
    trimmed: bool = False
    notes: list[str] = field(default_factory=list)


def build_prompt(
    query: str,
    hits: Sequence[Hit],
    links: Sequence[LinkContext],
    content_type: ContentType,
    rag: RagSettings,
    author_name: str,
    tokenizer: Any,
    history: Sequence[dict[str, str]] = (),
    max_input_tokens: int | None = None,
) -> BuiltPrompt:
    """The prompt within ``max_input_tokens`` (default ``rag.generator.max_input_tokens``).

    The context (links first, then hits in rank order) fills what the system prompt, history and question leave;
    the first piece that does not fit is cut on a word, later ones are dropped. When even that is too long, the
    history goes, oldest turn first. The question is never cut."""
    budget = max_input_tokens or rag.generator.max_input_tokens
    notes: list[str] = []
    all_pieces = [*map(link_piece, links), *map(hit_piece, hits)]
    pieces_in = cap_chars(all_pieces, rag.max_context_chars)
    cut = any(a.text != b.text for a, b in zip(pieces_in, all_pieces, strict=False))
    trimmed = len(pieces_in) < len(all_pieces) or cut
    turns = list(history)

    def size(pieces: Sequence[Piece]) -> tuple[int, str, list[dict[str, str]]]:
        msgs = messages_for(query, pieces, content_type, rag, author_name, turns)
        text = render(tokenizer, msgs)
        return count_tokens(tokenizer, text), text, msgs

    n, text, msgs = size(pieces_in)
    if n > budget:
        trimmed = True
        kept: list[Piece] = []
        base, text, msgs = size([])
        while base > budget and turns:
            turns.pop(0)
            notes.append("history turn dropped to fit the token budget")
            base, text, msgs = size([])
        if base > budget:
            notes.append(f"question and instructions alone take {base} tokens (budget {budget}); no context sent")
        else:
            for piece in pieces_in:
                n, t, m = size([*kept, piece])
                if n <= budget:
                    kept.append(piece)
                    text, msgs = t, m
                    continue
                lo, hi, best = MIN_PIECE_CHARS, len(piece.text) - 1, None  # longest cut that fits
                while lo <= hi:
                    mid = (lo + hi) // 2
                    cut = Piece(piece.label, cut_on_word(piece.text, mid) + " …", piece.hit, piece.link)
                    n, t, m = size([*kept, cut])
                    if n <= budget:
                        best, lo = (cut, t, m), mid + 1
                    else:
                        hi = mid - 1
                if best is not None:
                    kept.append(best[0])
                    text, msgs = best[1], best[2]
                break
            pieces_in = kept
        n = count_tokens(tokenizer, text)
    if trimmed:
        notes.append(f"context trimmed to {len(pieces_in)} of {len(all_pieces)} pieces ({n} tokens, budget {budget})")
    return BuiltPrompt(
        text=text,
        messages=msgs,
        hits=[p.hit for p in pieces_in if p.hit is not None],
        links=[p.link for p in pieces_in if p.link is not None],
        prompt_tokens=n,
        trimmed=trimmed,
        notes=notes,
    )
