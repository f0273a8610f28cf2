"""Render SearchFilters for each backend: a LanceDB SQL predicate or a Weaviate filter object."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin_core.vectorstore.base import SearchFilters

if TYPE_CHECKING:
    from weaviate.collections.classes.filters import _Filters


def sql_literal(value: str) -> str:
    """A SQL string literal: single quotes doubled, so no value can end the literal early."""
    return "'" + str(value).replace("'", "''") + "'"


def to_sql(filters: SearchFilters | None) -> str | None:
    """A LanceDB ``where`` predicate (AND of equalities / IN lists), or None when nothing is filtered."""
    if filters is None:
        return None
    parts: list[str] = []
    for field, values in filters.conditions():
        if not values:
            parts.append("FALSE")
        elif len(values) == 1:
            parts.append(f"`{field}` = {sql_literal(values[0])}")
        else:
            parts.append(f"`{field}` IN ({', '.join(sql_literal(v) for v in values)})")
    return " AND ".join(parts) or None


def to_weaviate(filters: SearchFilters | None) -> _Filters | None:
    """A Weaviate v4 filter (``Filter.by_property``), or None when nothing is filtered; empty lists are the caller's."""
    if filters is None or not filters.conditions():
        return None
    from weaviate.classes.query import Filter

    parts = [
        Filter.by_property(field).equal(values[0])
        if len(values) == 1
        else Filter.by_property(field).contains_any(values)
        for field, values in filters.conditions()
    ]
    return parts[0] if len(parts) == 1 else Filter.all_of(parts)
