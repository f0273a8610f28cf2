"""Triton ``config.pbtxt`` (protobuf text format) as plain data: parse, change, write back.

A message is a dict; a repeated field a list; bare identifiers (enums such as ``KIND_CPU``) are :class:`Ident`.
Rendering a model config = parse its template from ``triton_models/``, :func:`patch` in the fields settings give,
:func:`dump`. ``validate`` checks the result against Triton's own ``ModelConfig`` schema when tritonclient is there.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[{}\[\]:,;<>]|[^\s{}\[\]:,;<>"\'#]+')
REPEATED = frozenset(
    {"input", "output", "parameters", "instance_group", "step", "input_map", "output_map", "dims", "versions"}
    | {"preferred_batch_size", "gpus", "shape"}
)


class Ident(str):
    """A bare identifier in the text format (an enum value such as ``TYPE_STRING``)."""


class PbtxtError(ValueError):
    """The text is not well-formed protobuf text format."""


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise PbtxtError(f"unexpected character {text[pos]!r} at offset {pos}")
        tok, pos = m.group(), m.end()
        if not tok.isspace() and not tok.startswith("#"):
            out.append(tok)
    return out


def _scalar(tok: str) -> Any:
    if tok[0] in "\"'":
        return ast.literal_eval(tok)
    if tok in ("true", "false"):
        return tok == "true"
    for cast in (int, float):
        try:
            return cast(tok)
        except ValueError:
            pass
    if not re.fullmatch(r"[A-Za-z_][\w.]*", tok):
        raise PbtxtError(f"not a value: {tok!r}")
    return Ident(tok)


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks, self.i = _tokens(text), 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise PbtxtError(f"expected {expected or 'a token'} at token {self.i}, got {tok!r}")
        self.i += 1
        return tok

    def message(self, end: str | None) -> dict[str, Any]:
        msg: dict[str, Any] = {}
        while (tok := self.peek()) != end:
            if tok is None:
                raise PbtxtError(f"missing {end!r} at end of text")
            key = self.take()
            if self.peek() == ":":
                self.take()
            value = self.value()
            if key in msg or key in REPEATED:
                old = msg.get(key, [])
                msg[key] = (old if isinstance(old, list) else [old]) + (value if isinstance(value, list) else [value])
            else:
                msg[key] = value
            if self.peek() in (",", ";"):
                self.take()
        return msg

    def value(self) -> Any:
        tok = self.take()
        if tok in ("{", "<"):
            msg = self.message("}" if tok == "{" else ">")
            self.take()
            return msg
        if tok == "[":
            items = []
            while self.peek() != "]":
                items.append(self.value())
                if self.peek() == ",":
                    self.take()
            self.take("]")
            return items
        return _scalar(tok)


def parse(text: str) -> dict[str, Any]:
    """The message in ``text`` as nested dicts and lists."""
    return _Parser(text).message(None)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Ident | int | float):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _lines(msg: Mapping[str, Any], indent: int) -> list[str]:
    pad, out = "  " * indent, []
    for key, value in msg.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            out += [f"{pad}{key} {{", *_lines(value, indent + 1), f"{pad}}}"]
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            out.append(f"{pad}{key} [")
            for j, item in enumerate(value):
                out += [f"{pad}  {{", *_lines(item, indent + 2), f"{pad}  }}" + ("," if j < len(value) - 1 else "")]
            out.append(f"{pad}]")
        elif isinstance(value, list):
            out.append(f"{pad}{key}: [ {', '.join(_fmt(v) for v in value)} ]".replace("[  ]", "[ ]"))
        else:
            out.append(f"{pad}{key}: {_fmt(value)}")
    return out


def dump(msg: Mapping[str, Any], header: str = "") -> str:
    """Protobuf text for ``msg``; ``header`` lines become ``#`` comments on top."""
    comments = [f"# {line}".rstrip() for line in header.splitlines()]
    return "\n".join([*comments, *_lines(msg, 0)]) + "\n"


def patch(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with top-level fields replaced by ``changes`` (a ``None`` deletes the field); order kept."""
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not None}


def params(msg: Mapping[str, Any]) -> dict[str, str]:
    """The ``parameters`` entries as ``{key: string_value}``."""
    entries = msg.get("parameters", [])
    return {p["key"]: p["value"]["string_value"] for p in (entries if isinstance(entries, list) else [entries])}


def with_params(msg: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``msg`` with ``parameters`` set (``None`` drops a key), order kept, new keys appended."""
    current: dict[str, Any] = dict(params(msg))
    for key, value in values.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = _param_text(value)
    entries = [{"key": k, "value": {"string_value": v}} for k, v in current.items()]
    return {**msg, "parameters": entries}


def _param_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def tensors(msg: Mapping[str, Any], kind: str = "input") -> dict[str, dict[str, Any]]:
    """``input`` or ``output`` tensors by name."""
    return {t["name"]: t for t in msg.get(kind, [])}


def validate(text: str) -> Any:
    """Parse ``text`` into Triton's ``ModelConfig`` protobuf (unknown fields or bad enums raise); None if absent."""
    try:
        from google.protobuf import text_format
        from tritonclient.grpc import model_config_pb2
    except ImportError:
        return None
    return text_format.Parse(text, model_config_pb2.ModelConfig())
