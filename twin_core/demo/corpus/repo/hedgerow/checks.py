"""Small, composable value checks. Each carries a ``label`` for error messages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any


def _labelled(func: Callable[[Any], bool], label: str) -> Callable[[Any], bool]:
    func.label = label  # type: ignore[attr-defined]
    return func


def one_of(allowed: Iterable[Any]) -> Callable[[Any], bool]:
    """Value must be one of ``allowed``. Handy for status columns."""
    options = frozenset(allowed)
    shown = ", ".join(sorted(map(str, options)))
    return _labelled(lambda value: value in options, f"one_of({shown})")


def between(low: float, high: float) -> Callable[[Any], bool]:
    """Value must lie in the closed interval [low, high]."""
    if low > high:
        raise ValueError(f"between: low ({low}) is greater than high ({high})")
    return _labelled(lambda value: low <= value <= high, f"between({low}, {high})")


def matches(pattern: str) -> Callable[[Any], bool]:
    """Whole string must match the regular expression ``pattern``."""
    compiled = re.compile(pattern)
    return _labelled(
        lambda value: isinstance(value, str) and compiled.fullmatch(value) is not None,
        f"matches({pattern})",
    )


def non_empty() -> Callable[[Any], bool]:
    """String must contain something other than whitespace."""
    return _labelled(lambda value: bool(str(value).strip()), "non_empty()")
