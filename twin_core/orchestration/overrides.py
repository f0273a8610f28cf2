"""Hydra overrides as orchestrators receive them: a trigger form's string, a run conf's list, a data interval."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any


def parse_overrides(value: str | Sequence[str] | None, *, where: str = "overrides") -> list[str]:
    """A space-separated string (shell quoting honoured) or a list of strings -> a list of overrides."""
    if value is None:
        return []
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"{where}: cannot split {value!r} ({exc})") from None
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return [v for v in value if v.strip()]
    raise ValueError(f"{where}: expected a string or a list of strings, got {value!r}")


def run_overrides(conf: Mapping[str, Any] | None, params: Mapping[str, Any] | None) -> list[str]:
    """The run's own overrides: ``dag_run.conf["overrides"]`` when given, else the ``overrides`` param."""
    if conf and "overrides" in conf:
        return parse_overrides(conf["overrides"], where='dag_run.conf["overrides"]')
    return parse_overrides((params or {}).get("overrides"), where="params.overrides")


def window_overrides(keys: Mapping[str, str] | None, start: datetime | None, end: datetime | None) -> list[str]:
    """``<start key>=<ISO start>`` and ``<end key>=<ISO end>``; nothing when the run has no data interval."""
    if not keys or start is None or end is None or start >= end:
        return []
    return [f"{keys['start']}={start.isoformat()}", f"{keys['end']}={end.isoformat()}"]
