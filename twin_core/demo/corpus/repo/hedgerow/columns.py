"""Columns and schemas: the contract a row is expected to honour."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Check = Callable[[Any], bool]


@dataclass(frozen=True)
class Column:
    """One expected column.

    ``why`` is the unwritten rule, written down: it is shown next to every
    violation so the person reading the error knows why the rule exists.
    """

    name: str
    kind: type | tuple[type, ...] = str
    nullable: bool = False
    check: Check | None = None
    why: str = ""

    def problems(self, value: Any) -> list[str]:
        """Return human-readable problems for ``value``; empty means fine."""
        if value is None or value == "":
            if self.nullable:
                return []
            return [self._explain("missing value, and this column is not nullable")]
        if not isinstance(value, self.kind):
            expected = _type_names(self.kind)
            got = type(value).__name__
            return [self._explain(f"expected {expected}, got {got} ({value!r})")]
        if self.check is not None and not self.check(value):
            label = getattr(self.check, "label", "custom check")
            return [self._explain(f"value {value!r} failed {label}")]
        return []

    def _explain(self, message: str) -> str:
        text = f"{self.name}: {message}"
        return f"{text} [why: {self.why}]" if self.why else text


@dataclass
class Schema:
    """An ordered collection of columns with a name, for error messages."""

    name: str
    columns: list[Column] = field(default_factory=list)
    allow_extra: bool = True

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for column in self.columns:
            if column.name in seen:
                raise ValueError(f"{self.name}: column {column.name!r} declared twice")
            seen.add(column.name)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def violations(self, row: dict[str, Any]) -> list[str]:
        """Every problem with ``row``, in column order."""
        problems: list[str] = []
        for column in self.columns:
            problems.extend(column.problems(row.get(column.name)))
        if not self.allow_extra:
            extra = sorted(set(row) - set(self.names))
            if extra:
                problems.append(f"unexpected columns: {', '.join(extra)}")
        return problems

    def is_valid(self, row: dict[str, Any]) -> bool:
        return not self.violations(row)

    def coerce(self, rows: Iterable[dict[str, str]]) -> Iterable[dict[str, Any]]:
        """Convert string fields to each column's first declared type, where possible."""
        for row in rows:
            out: dict[str, Any] = dict(row)
            for column in self.columns:
                raw = row.get(column.name)
                target = column.kind[0] if isinstance(column.kind, tuple) else column.kind
                if isinstance(raw, str) and raw != "" and target is not str:
                    try:
                        out[column.name] = target(raw)
                    except (TypeError, ValueError):
                        out[column.name] = raw
            yield out


def _type_names(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__
