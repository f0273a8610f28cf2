"""Cut cleaned documents into extracts: prose on paragraph/sentence boundaries, code per top-level function."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from twin_core.domain.documents import CleanedDocument
from twin_core.domain.ids import content_hash, stable_id

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[A-Z0-9\"'“‘(\[*_`])")
_FILE_HEADER = re.compile(r"^==> (.+?) <==$", re.M)


@dataclass(frozen=True)
class Block:
    """A paragraph, fenced code block or heading of a Markdown document."""

    text: str
    kind: str  # "para" | "code" | "heading"
    heading: str = ""


@dataclass(frozen=True)
class Extract:
    """One passage of the author's, with what an instruction can be derived from (title, heading, lead)."""

    document_id: str
    category: str
    platform: str
    author: str
    title: str
    text: str
    position: int
    heading: str = ""
    lead: str = ""
    path: str = ""
    symbols: tuple[str, ...] = ()
    summary: str = ""
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(
                self, "id", stable_id("extract", self.document_id, str(self.position), content_hash(self.text))
            )


def markdown_blocks(text: str) -> list[Block]:
    """Paragraphs (blank-line separated), whole fenced code blocks and heading lines, each tagged with its heading."""
    blocks: list[Block] = []
    heading, buf, fence = "", [], None

    def flush(kind: str = "para") -> None:
        body = "\n".join(buf).strip("\n")
        if body.strip():
            blocks.append(Block(body, kind, heading))
        buf.clear()

    for line in text.split("\n"):
        if fence is not None:
            buf.append(line)
            if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                fence = None
                flush("code")
            continue
        opener = _FENCE.match(line)
        if opener:
            flush()
            fence = opener.group(1)
            buf.append(line)
            continue
        match = _HEADING.match(line)
        if match:
            flush()
            heading = match.group(2).strip()
            blocks.append(Block(line.strip(), "heading", heading))
        elif not line.strip():
            flush()
        else:
            buf.append(line)
    flush("code" if fence is not None else "para")
    return blocks


def sentences(text: str) -> list[str]:
    """Sentences of a paragraph (a simple end-punctuation rule; never splits inside a word)."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _split_long(block: Block, max_chars: int) -> list[Block]:
    if len(block.text) <= max_chars or block.kind != "para":
        return [block]
    parts, current = [], ""
    for sentence in sentences(block.text):
        if current and len(current) + 1 + len(sentence) > max_chars:
            parts.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    parts.append(current)
    return [Block(p, "para", block.heading) for p in parts if p]


def pack(pieces: list[list[Block]], max_chars: int, min_chars: int) -> list[list[Block]]:
    """Merge pieces smaller than ``min_chars`` into their predecessor while that stays within 1.5 x ``max_chars``."""
    out: list[list[Block]] = []
    for piece in pieces:
        size = sum(len(b.text) + 2 for b in piece)
        previous = sum(len(b.text) + 2 for b in out[-1]) if out else 0
        small_fits = size < min_chars and previous + size <= max_chars * 1.5
        previous_small = previous < min_chars and piece[0].kind != "heading"
        if out and (small_fits or previous_small):
            out[-1] = out[-1] + piece
        else:
            out.append(list(piece))
    return out


def lead_of(blocks: list[Block], max_chars: int = 200) -> str:
    """The first sentence of the first paragraph, without Markdown emphasis, at most ``max_chars``."""
    for block in blocks:
        if block.kind == "para":
            first = sentences(block.text)[0] if sentences(block.text) else block.text
            first = re.sub(r"[*_`>#]+", "", " ".join(first.split())).strip()
            return first if len(first) <= max_chars else first[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return ""


def prose_extracts(doc: CleanedDocument, max_chars: int, min_chars: int) -> list[Extract]:
    """Sections start new extracts; paragraphs are packed up to ``max_chars``, long ones cut between sentences."""
    pieces: list[list[Block]] = []
    current: list[Block] = []
    size = 0
    for block in markdown_blocks(doc.content):
        for part in _split_long(block, max_chars):
            starts_section = part.kind == "heading"
            full = size + len(part.text) > max_chars and any(b.kind != "heading" for b in current)
            if current and (starts_section or full):
                pieces.append(current)
                current, size = [], 0
            current.append(part)
            size += len(part.text) + 2
    if current:
        pieces.append(current)
    out = []
    for i, piece in enumerate(pack(pieces, max_chars, min_chars)):
        heading = next((b.heading for b in piece if b.heading), "")
        text = "\n\n".join(b.text for b in piece)
        out.append(_extract(doc, text, i, heading=heading, lead=lead_of(piece)))
    return out


def _extract(doc: CleanedDocument, text: str, position: int, **extra: object) -> Extract:
    return Extract(
        document_id=doc.id,
        category=doc.category.value,
        platform=doc.platform,
        author=doc.author_name,
        title=doc.title,
        text=text,
        position=position,
        **extra,  # type: ignore[arg-type]
    )


def code_files(content: str, default_path: str) -> list[tuple[str, str]]:
    """(path, text) of each file in a cleaned repository (``==> path <==`` headers)."""
    heads = list(_FILE_HEADER.finditer(content))
    if not heads:
        return [(default_path, content)]
    ends = [h.start() for h in heads[1:]] + [len(content)]
    return [(h.group(1), content[h.end() + 1 : end].strip("\n")) for h, end in zip(heads, ends, strict=True)]


def python_units(source: str) -> list[tuple[str, str, str]]:
    """(name, text, docstring line) per top-level function or class (decorators and leading comments included)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [("", source, "")]
    lines = source.split("\n")
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    starts = []
    for node in defs:
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        starts.append(start)
    units = []
    if not defs or starts[0] > 0:
        module_doc = (ast.get_docstring(tree) or "").strip().split("\n")[0]
        units.append(("", "\n".join(lines[: starts[0] if defs else len(lines)]), module_doc))
    ends = [*starts[1:], len(lines)] if defs else []
    for node, start, end in zip(defs, starts, ends, strict=True):
        doc = (ast.get_docstring(node) or "").strip().split("\n")[0]
        units.append((node.name, "\n".join(lines[start:end]), doc))
    return [(n, t.strip("\n"), d) for n, t, d in units if t.strip()]


def code_extracts(doc: CleanedDocument, max_chars: int) -> list[Extract]:
    """Per file, top-level units packed up to ``max_chars``; a unit longer than that stays whole."""
    out: list[Extract] = []
    for path, text in code_files(doc.content, doc.title or doc.link):
        python = path.endswith(".py")
        units = python_units(text) if python else [("", b.text, "") for b in markdown_blocks(text)]
        group: list[tuple[str, str, str]] = []
        for unit in [*units, None]:
            size = sum(len(u[1]) + 2 for u in group)
            if group and (unit is None or size + len(unit[1]) > max_chars):
                body = "\n\n".join(u[1] for u in group)
                names = tuple(n for n, _, _ in group if n)
                summary = next((d for _, _, d in group if d), "")
                out.append(_extract(doc, body, len(out), path=path, symbols=names, summary=summary))
                group = []
            if unit is not None:
                group.append(unit)
    return out


def make_extracts(doc: CleanedDocument, max_chars: int, min_chars: int) -> list[Extract]:
    """The extracts of one cleaned document, by category."""
    if not doc.content.strip():
        return []
    if doc.category.value == "code":
        return code_extracts(doc, max_chars)
    return prose_extracts(doc, max_chars, min_chars)
