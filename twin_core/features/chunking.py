"""Chunking strategies (recursive, token, markdown, code), chosen per category; all end under the token cap."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from twin_core.domain.chunks import Chunk
from twin_core.domain.documents import CleanedDocument
from twin_core.features.cleaning import FENCE, FILE_HEADER, closes_fence
from twin_core.features.settings import ChunkingSettings
from twin_core.features.splitters import (
    CODE_SEPARATORS,
    PROSE_SEPARATORS,
    Span,
    enforce_token_cap,
    merge_spans,
    recursive_chunks,
    split_spans,
    token_windows,
    trim_spans,
)
from twin_core.features.tokens import TokenCounter

ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
TOP_LEVEL_DEF = re.compile(
    r"^(?:(?:export|default|pub(?:\([a-z]+\))?|public|private|protected|static|async|abstract|final)\s+)*"
    r"(?P<kw>def|class|function|fn|func|impl|struct|enum|trait|interface|type|module|object|record)\b"
    r"[ \t*]*(?P<name>[A-Za-z_$][\w$]*)?"
)
_FILE_HEADER_RE = re.compile("^" + re.escape(FILE_HEADER).replace(r"\{path\}", "(.+)"), re.MULTILINE)
HEADING_SEP = " › "


@dataclass
class Piece:
    """A chunk before it becomes a Chunk: its span in the cleaned text and what to record about it."""

    span: Span
    metadata: dict[str, str] = field(default_factory=dict)


def chunk_recursive(text: str, s: ChunkingSettings, counter: TokenCounter) -> list[Piece]:
    """Recursive character splitting (paragraphs, lines, sentences, words) with overlap."""
    return [Piece(sp) for sp in recursive_chunks(text, s.chunk_size, s.chunk_overlap)]


def chunk_tokens(text: str, s: ChunkingSettings, counter: TokenCounter) -> list[Piece]:
    """Windows of ``max_tokens`` tokens of the embedding model's tokenizer, overlapping by ``token_overlap``."""
    return [Piece(sp) for sp in token_windows(text, counter, s.max_tokens, s.token_overlap)]


def markdown_sections(text: str, span: Span | None = None) -> list[tuple[Span, tuple[str, ...]]]:
    """Split Markdown at ATX and setext headings outside code fences; each section keeps its heading path."""
    base, stop = span or (0, len(text))
    lines = text[base:stop].splitlines(keepends=True)
    sections: list[tuple[Span, tuple[str, ...]]] = []
    stack: list[tuple[int, str]] = []
    sec_start, pos, fence = base, base, None
    for i, line in enumerate(lines):
        bare = line.rstrip("\n")
        heading: tuple[int, str] | None = None
        if fence is not None:
            fence = None if closes_fence(bare, fence) else fence
        elif m := FENCE.match(bare):
            fence = m.group(1)
        elif m := ATX_HEADING.match(bare):
            heading = (len(m.group(1)), m.group(2).strip())
        elif (
            bare.strip()
            and not bare.startswith((" " * 4, "\t", "- ", "* ", "+ ", ">"))
            and i + 1 < len(lines)
            and (u := SETEXT_UNDERLINE.match(lines[i + 1].rstrip("\n")))
        ):
            heading = (1 if u.group(1)[0] == "=" else 2, bare.strip())
        if heading is not None:
            if pos > sec_start:
                sections.append(((sec_start, pos), tuple(h for _, h in stack)))
            stack = [h for h in stack if h[0] < heading[0]] + [heading]
            sec_start = pos
        pos += len(line)
    if stop > sec_start:
        sections.append(((sec_start, stop), tuple(h for _, h in stack)))
    return sections


def _markdown_pieces(text: str, span: Span, size: int) -> list[Span]:
    """Atoms of one section: fenced code blocks whole where they fit, prose split recursively."""
    pieces: list[Span] = []
    pos, fence, block_start = span[0], None, span[0]
    for line in text[span[0] : span[1]].splitlines(keepends=True):
        bare = line.rstrip("\n")
        if fence is None and (m := FENCE.match(bare)):
            pieces += split_spans(text, (block_start, pos), size, PROSE_SEPARATORS)
            fence, block_start = m.group(1), pos
        elif fence is not None and closes_fence(bare, fence):
            pieces += split_spans(text, (block_start, pos + len(line)), size, CODE_SEPARATORS)
            fence, block_start = None, pos + len(line)
        pos += len(line)
    seps = PROSE_SEPARATORS if fence is None else CODE_SEPARATORS
    return pieces + split_spans(text, (block_start, span[1]), size, seps)


def chunk_markdown(text: str, s: ChunkingSettings, counter: TokenCounter, span: Span | None = None) -> list[Piece]:
    """Split by headings, then recursively within each section; the heading path goes into the metadata."""
    out: list[Piece] = []
    for sec, path in markdown_sections(text, span):
        atoms = _markdown_pieces(text, sec, s.chunk_size)
        meta = {"headings": HEADING_SEP.join(path)} if path else {}
        out += [Piece(sp, dict(meta)) for sp in trim_spans(text, merge_spans(atoms, s.chunk_size, s.chunk_overlap))]
    return out


def code_units(source: str, path: str) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of each top-level definition, 0-based lines; Python via ``ast``, else regex."""
    if path.endswith((".py", ".pyi")):
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None:
            defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            return [
                (min([n.lineno, *(d.lineno for d in n.decorator_list)]) - 1, (n.end_lineno or n.lineno) - 1, n.name)
                for n in tree.body
                if isinstance(n, defs)
            ]
    lines = source.splitlines()
    starts = [(i, m["name"] or m["kw"]) for i, line in enumerate(lines) if (m := TOP_LEVEL_DEF.match(line))]
    ends = [a - 1 for a, _ in starts[1:]] + [len(lines) - 1] if starts else []
    return [(a, end, name) for (a, name), end in zip(starts, ends, strict=True)]


def _file_pieces(text: str, span: Span, path: str, s: ChunkingSettings, counter: TokenCounter) -> list[Piece]:
    """One file: Markdown by headings, code by top-level definitions (each cut by lines when too long)."""
    if path.lower().endswith((".md", ".markdown", ".rst", ".txt")):
        pieces = chunk_markdown(text, s, counter, span)
    else:
        source = text[span[0] : span[1]]
        line_starts = [0, *(m.end() for m in re.finditer("\n", source))]
        units = [(span[0] + line_starts[a], name) for a, _, name in code_units(source, path)]
        bounds = sorted({at for at, _ in units} | {span[0]})
        atoms: list[Span] = []
        for a, b in zip(bounds, [*bounds[1:], span[1]], strict=True):
            atoms += split_spans(text, (a, b), s.chunk_size, CODE_SEPARATORS)
        spans = trim_spans(text, merge_spans(atoms, s.chunk_size, s.chunk_overlap), keep_indent=True)
        pieces = []
        for sp in spans:
            names = [n for at, n in units if sp[0] <= at < sp[1]]
            pieces.append(Piece(sp, {"symbols": ", ".join(names)} if names else {}))
    for p in pieces:
        p.metadata["path"] = path
    return pieces


def code_files(doc: CleanedDocument) -> list[tuple[str, Span]]:
    """(path, span) of each file in a cleaned repository: from the cleaner's metadata, else from the headers."""
    files = doc.metadata.get("files")
    if files:
        return [(f["path"], (int(f["start"]), int(f["end"]))) for f in files]
    heads = list(_FILE_HEADER_RE.finditer(doc.content))
    if not heads:
        return [("", (0, len(doc.content)))]
    ends = [h.start() for h in heads[1:]] + [len(doc.content)]
    return [(h.group(1), (h.end(), end)) for h, end in zip(heads, ends, strict=True)]


def chunk_code(doc: CleanedDocument, s: ChunkingSettings, counter: TokenCounter) -> list[Piece]:
    """Per file, split at top-level functions and classes, falling back to lines; the path goes into the metadata."""
    return [p for path, span in code_files(doc) for p in _file_pieces(doc.content, span, path, s, counter)]


STRATEGIES: dict[str, Callable[[CleanedDocument, ChunkingSettings, TokenCounter], list[Piece]]] = {
    "recursive": lambda d, s, c: chunk_recursive(d.content, s, c),
    "token": lambda d, s, c: chunk_tokens(d.content, s, c),
    "markdown": lambda d, s, c: chunk_markdown(d.content, s, c),
    "code": chunk_code,
}


def cap_pieces(text: str, pieces: Sequence[Piece], counter: TokenCounter, max_tokens: int, code: bool) -> list[Piece]:
    """Split any piece above ``max_tokens`` tokens; the parts keep the piece's metadata."""
    counts = counter.count([text[a:b] for a, b in (p.span for p in pieces)])
    out: list[Piece] = []
    for p, n in zip(pieces, counts, strict=True):
        if n <= max_tokens:
            out.append(p)
            continue
        out += [Piece(sp, dict(p.metadata)) for sp in enforce_token_cap(text, [p.span], counter, max_tokens, code)]
    return out


def chunk_document(doc: CleanedDocument, s: ChunkingSettings, counter: TokenCounter, max_tokens: int) -> list[Chunk]:
    """The chunks of one cleaned document, in order, none empty and none above ``max_tokens`` tokens."""
    strategy = s.strategies[doc.category.value]
    pieces = cap_pieces(doc.content, STRATEGIES[strategy](doc, s, counter), counter, max_tokens, strategy == "code")
    chunks = []
    for position, p in enumerate(pieces):
        meta = {"strategy": strategy, "title": doc.title, "start": str(p.span[0]), "end": str(p.span[1]), **p.metadata}
        chunks.append(
            Chunk(
                document_id=doc.id,
                author_id=doc.author_id,
                author_name=doc.author_name,
                category=doc.category,
                platform=doc.platform,
                link=doc.link,
                position=position,
                content=doc.content[p.span[0] : p.span[1]],
                metadata=meta,
            )
        )
    return chunks
