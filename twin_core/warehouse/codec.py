"""Python values <-> stored documents: UTC millisecond datetimes and escaped keys, identical on both engines."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

_ESCAPES = {"%": "%25", ".": "%2E", "$": "%24"}
_UNESCAPES = {v[1:]: k for k, v in _ESCAPES.items()}
_ESCAPED = re.compile(r"%(25|2E|24)")


def escape_key(key: str) -> str:
    """Make a key storable: ``.`` and ``$`` are path syntax to both engines (file paths are keys in code content)."""
    return key.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def unescape_key(key: str) -> str:
    """Inverse of :func:`escape_key`."""
    return _ESCAPED.sub(lambda m: _UNESCAPES[m.group(1)], key)


def utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_ms(value: datetime) -> datetime:
    """UTC at millisecond precision, which is what BSON stores on both engines."""
    value = utc(value)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def to_store(value: Any) -> Any:
    """Encode a value for storage: nested keys escaped, datetimes UTC ms, enums by value."""
    if isinstance(value, datetime):
        return utc_ms(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {escape_key(str(k)): to_store(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_store(v) for v in value]
    return value


def from_store(value: Any) -> Any:
    """Decode a stored value: keys unescaped, datetimes as UTC with ``datetime.UTC`` as tzinfo."""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, Mapping):
        return {unescape_key(k): from_store(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_store(v) for v in value]
    return value


def query_values(query: Any) -> Any:
    """Normalise the values of a query (aware UTC datetimes, enum values); keys and operators are left alone."""
    if isinstance(query, datetime):
        return utc(query)
    if isinstance(query, Enum):
        return query.value
    if isinstance(query, Mapping):
        return {k: query_values(v) for k, v in query.items()}
    if isinstance(query, list | tuple):
        return [query_values(v) for v in query]
    return query
