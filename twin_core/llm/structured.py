"""Structured answers: find the JSON in a chatty reply, validate it, and run many calls with failure records."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

T = TypeVar("T")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)

_FENCED = re.compile(r"```[ \t]*(?:json|JSON|javascript)?[ \t]*\n(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
EXCERPT_CHARS = 300


class Failure(BaseModel):
    """Why one item got no result: its id, how many attempts were made, the last error and raw answer."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    attempts: int
    error: str
    raw_excerpt: str = ""


def _candidates(text: str) -> list[str]:
    stripped = text.strip()
    return [stripped, *(m.group(1).strip() for m in _FENCED.finditer(text))]


def _decode_first(text: str, opener: str) -> Any:
    decoder = json.JSONDecoder()
    for match in re.finditer(re.escape(opener), text):
        for candidate in (text[match.start() :], _TRAILING_COMMA.sub(r"\1", text[match.start() :])):
            try:
                value, _ = decoder.raw_decode(candidate)
            except json.JSONDecodeError:
                continue
            return value
    raise ValueError


def extract_json(text: str) -> Any:
    """The JSON in an answer: the whole text, a fenced block, or the first decodable object (then array) in it."""
    for candidate in _candidates(text):
        for form in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
            try:
                return json.loads(form)
            except json.JSONDecodeError:
                pass
    for opener in ("{", "["):
        try:
            return _decode_first(text, opener)
        except ValueError:
            continue
    raise ValueError(f"no JSON object in the answer: {excerpt(text, 120)!r}")


def parse_structured(text: str, schema: type[M]) -> M:
    """Validate the answer's JSON against ``schema``; a bare list fills a schema's only list field."""
    data = extract_json(text)
    fields = schema.model_fields
    if isinstance(data, list) and len(fields) == 1:
        ((name, field),) = fields.items()
        if get_origin(field.annotation) is list:
            data = {name: data}
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()[:5])
        raise ValueError(f"answer does not match {schema.__name__}: {problems}") from None


def schema_instruction(schema: type[BaseModel]) -> str:
    """A one-paragraph request for JSON matching ``schema`` (its JSON schema, compact)."""
    spec = json.dumps(schema.model_json_schema(), separators=(",", ":"))
    return f"Answer with one JSON object only, no prose, matching this JSON schema: {spec}"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of ``text`` on one line, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def failure_of(item_id: str, exc: BaseException) -> Failure:
    """The failure record for an exception raised while processing one item."""
    return Failure(
        item_id=item_id,
        attempts=int(getattr(exc, "attempts", 1)),
        error=f"{type(exc).__name__}: {exc}",
        raw_excerpt=excerpt(str(getattr(exc, "raw", ""))),
    )


def run_bounded(
    items: Sequence[T],
    fn: Callable[[T], R],
    *,
    item_id: Callable[[T], str],
    concurrency: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[tuple[T, R]], list[Failure]]:
    """Call ``fn`` on every item, at most ``concurrency`` at a time; results in input order, one failure per item."""
    outcomes: dict[int, R | BaseException] = {}
    if concurrency <= 1:
        for i, item in enumerate(items):
            try:
                outcomes[i] = fn(item)
            except Exception as exc:
                outcomes[i] = exc
            if progress:
                progress(1)
    else:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="llm") as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                exc = future.exception()
                outcomes[futures[future]] = exc if exc is not None else future.result()
                if progress:
                    progress(1)
    results: list[tuple[T, R]] = []
    failures: list[Failure] = []
    for i, item in enumerate(items):
        out = outcomes[i]
        if isinstance(out, BaseException):
            failures.append(failure_of(item_id(item), out))
        else:
            results.append((item, out))
    return results, failures
