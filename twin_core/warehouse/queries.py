"""Query building and the operator guard: an operator the engine cannot evaluate correctly fails loudly."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict

from bson.regex import Regex

from twin_core.domain.documents import Category
from twin_core.warehouse.codec import utc

# Operators checked against MongoDB semantics on montydb 2.5 (tests/unit/warehouse, tests/integration).
EMBEDDED_OPERATORS: frozenset[str] = frozenset(
    {
        "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
        "$and", "$or", "$nor", "$not", "$exists", "$type",
        "$all", "$size", "$elemMatch", "$mod", "$regex", "$options",
    }
)  # fmt: skip
_LOGICAL = frozenset({"$and", "$or", "$nor"})


class UnsupportedQueryError(RuntimeError):
    """A query uses an operator (or value form) that the engine would reject or answer wrongly."""

    def __init__(self, operator: str, engine: str, where: str) -> None:
        self.operator, self.engine, self.where = operator, engine, where
        supported = " ".join(sorted(EMBEDDED_OPERATORS))
        super().__init__(
            f"{where}: {operator} is not supported by the {engine!r} warehouse engine "
            f"(supported: {supported}); use engine 'mongodb' or filter in Python"
        )


def check_query(query: Mapping[str, Any] | None, *, engine: str, allowed: frozenset[str] | None) -> None:
    """Raise :class:`UnsupportedQueryError` for the first operator outside ``allowed`` (``None``: all pass)."""
    if allowed is None or not query:
        return
    _check_document(query, "query", engine, allowed)


def _check_document(query: Mapping[str, Any], where: str, engine: str, allowed: frozenset[str]) -> None:
    for key, value in query.items():
        here = f"{where}.{key}"
        if not key.startswith("$"):
            _check_condition(value, here, engine, allowed)
            continue
        _require(key, here, engine, allowed)
        if key in _LOGICAL and isinstance(value, list):
            for i, sub in enumerate(value):
                if isinstance(sub, Mapping):
                    _check_document(sub, f"{here}[{i}]", engine, allowed)


def _check_condition(value: Any, where: str, engine: str, allowed: frozenset[str]) -> None:
    if isinstance(value, re.Pattern | Regex):
        # montydb matches a bare pattern value against nothing; {"$regex": ...} works.
        raise UnsupportedQueryError("a bare regular expression value (write {'$regex': ...})", engine, where)
    if not _is_operator_expression(value):
        return
    for op, operand in value.items():
        here = f"{where}.{op}"
        _require(op, here, engine, allowed)
        if op == "$not" and not isinstance(operand, re.Pattern | Regex):
            _check_condition(operand, here, engine, allowed)
        elif op == "$elemMatch" and isinstance(operand, Mapping):
            if _is_operator_expression(operand):
                _check_condition(operand, here, engine, allowed)
            else:
                _check_document(operand, here, engine, allowed)


def _is_operator_expression(value: Any) -> bool:
    return isinstance(value, Mapping) and any(isinstance(k, str) and k.startswith("$") for k in value)


def _require(op: str, where: str, engine: str, allowed: frozenset[str]) -> None:
    if op.startswith("$") and op not in allowed:
        raise UnsupportedQueryError(f"operator {op}", engine, where)


def categories(category: str | Sequence[str]) -> list[str]:
    """One category or several, validated, as stored values."""
    values = [category] if isinstance(category, str) else list(category)
    try:
        return [Category(c).value for c in values]
    except ValueError:
        raise ValueError(f"category: {values!r} must be among {[c.value for c in Category]}") from None


class DocumentFilters(TypedDict, total=False):
    """Filters shared by raw and cleaned documents; each one given narrows the match."""

    author_id: str | None
    category: str | Sequence[str] | None
    platform: str | None
    updated_since: datetime | None
    ids: Sequence[str] | None


def document_filter(
    *,
    author_id: str | None = None,
    category: str | Sequence[str] | None = None,
    platform: str | None = None,
    updated_since: datetime | None = None,
    ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The MongoDB filter shared by raw and cleaned documents; ``None`` means "any"."""
    query: dict[str, Any] = {}
    if author_id is not None:
        query["author_id"] = author_id
    if category is not None:
        query["category"] = {"$in": categories(category)}
    if platform is not None:
        query["platform"] = platform
    if updated_since is not None:
        query["updated_at"] = {"$gte": utc(updated_since)}
    if ids is not None:
        if isinstance(ids, str):
            raise TypeError(f"ids: expected a sequence of ids, got the string {ids!r}")
        query["_id"] = {"$in": list(ids)}
    return query
