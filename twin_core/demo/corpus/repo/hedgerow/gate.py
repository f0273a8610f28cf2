"""The gate: let good rows through, quarantine bad ones, stop if too many fail."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hedgerow.columns import Schema


class TooManyFailures(RuntimeError):
    """Raised when the share of bad rows is above the gate's threshold."""


@dataclass
class GateReport:
    schema: str
    passed: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.passed) + len(self.quarantined)

    @property
    def failure_rate(self) -> float:
        return len(self.quarantined) / self.total if self.total else 0.0

    def summary(self) -> str:
        """One line for the logs, written for someone who has just been paged."""
        return (
            f"[{self.schema}] {self.total:,} rows: {len(self.passed):,} passed, "
            f"{len(self.quarantined):,} quarantined ({self.failure_rate:.1%})"
        )

    def top_problems(self, n: int = 5) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for _, problems in self.quarantined:
            for problem in problems:
                key = problem.split(":", 1)[0]
                counts[key] = counts.get(key, 0) + 1
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]


class Gate:
    """Check rows against a schema at the front door of a pipeline."""

    def __init__(self, schema: Schema, max_failure_rate: float = 0.01) -> None:
        if not 0.0 <= max_failure_rate <= 1.0:
            raise ValueError("max_failure_rate must be between 0 and 1")
        self.schema = schema
        self.max_failure_rate = max_failure_rate

    def run(self, rows: Iterable[dict[str, Any]]) -> GateReport:
        report = GateReport(schema=self.schema.name)
        for row in rows:
            problems = self.schema.violations(row)
            if problems:
                report.quarantined.append((row, problems))
            else:
                report.passed.append(row)
        if report.failure_rate > self.max_failure_rate:
            worst = ", ".join(f"{name} x{count}" for name, count in report.top_problems(3))
            raise TooManyFailures(
                f"{report.summary()}; threshold is {self.max_failure_rate:.1%}. "
                f"Most common problems: {worst}. Did the upstream format change?"
            )
        return report
