"""The promotion gate: a candidate replaces production only when it beats it on the configured metrics."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from twin_core.evaluation.metrics import Direction, direction
from twin_core.evaluation.settings import GateSettings


class MetricCheck(BaseModel):
    """One metric's comparison: values, direction, the improvement required and whether it was met."""

    metric: str
    direction: Direction | None
    candidate: float | None
    production: float | None
    margin: str
    required: float | None = None
    improvement: float | None = None
    passed: bool | None = Field(default=None, description="None: not compared (not measured for both models).")
    note: str = ""


class GateDecision(BaseModel):
    """What the gate decided about a candidate, why, and whether the production tag was moved."""

    candidate: str | None
    production: str | None
    promote: bool
    applied: bool = False
    reason: str
    require: str = "all"
    checks: list[MetricCheck] = Field(default_factory=list)
    decided_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def _value(metrics: dict[str, Any], name: str) -> float | None:
    value = metrics.get(name)
    if value is None or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def required_improvement(margin: float | str, production: float) -> float:
    """The improvement a margin asks for: absolute, or ``'2%'`` of production's value."""
    if isinstance(margin, str):
        return float(margin.strip().rstrip("%")) / 100.0 * abs(production)
    return float(margin)


def check_metric(
    metric: str, margin: float | str, candidate: dict[str, Any], production: dict[str, Any], dirs: dict[str, Direction]
) -> MetricCheck:
    """Compare one metric; passes when the improvement in its good direction is at least the margin."""
    way = direction(metric, dirs)
    c, p = _value(candidate, metric), _value(production, metric)
    check = MetricCheck(metric=metric, direction=way, candidate=c, production=p, margin=str(margin))
    if way is None:
        check.passed, check.note = False, f"unknown direction: set evaluation.gate.directions.{metric}"
        return check
    if c is None or p is None:
        check.note = "not measured for both models; not compared"
        return check
    check.required = required_improvement(margin, p)
    check.improvement = c - p if way == "higher" else p - c
    check.passed = check.improvement >= check.required - 1e-12
    verb = "beats" if check.passed else "does not beat"
    check.note = (
        f"{metric}: {_fmt(c)} vs production {_fmt(p)} ({way} is better): {verb} the required "
        f"improvement of {_fmt(check.required)} (got {_fmt(check.improvement)})"
    )
    return check


def decide(
    candidate: str | None,
    candidate_metrics: dict[str, Any],
    production: str | None,
    production_metrics: dict[str, Any],
    gate: GateSettings,
    directions: dict[str, Direction] | None = None,
) -> GateDecision:
    """The decision for ``candidate`` against ``production`` under the gate's margins, directions and rule."""
    base = {"candidate": candidate, "production": production, "require": gate.require}
    if candidate is None:
        return GateDecision(**base, promote=False, reason="no candidate: nothing registered outside production")
    if candidate == production:
        return GateDecision(**base, promote=False, reason=f"{candidate} is already production")
    if production is None:
        ok = gate.promote_if_no_production
        why = "no production model yet" + ("" if ok else " and gate.promote_if_no_production is false")
        return GateDecision(**base, promote=ok, reason=why)
    dirs = {**(directions or {}), **gate.directions}
    checks = [
        check_metric(m, margin, candidate_metrics, production_metrics, dirs) for m, margin in gate.margins.items()
    ]
    compared = [c for c in checks if c.passed is not None]
    if not compared:
        return GateDecision(
            **base, promote=False, checks=checks, reason="refused: no gate metric was measured for both models"
        )
    passed = [c for c in compared if c.passed]
    ok = len(passed) == len(compared) if gate.require == "all" else bool(passed)
    failed = [c.note for c in compared if not c.passed]
    if ok:
        reason = f"promote: beats production on {len(passed)}/{len(compared)} compared metrics"
    else:
        reason = "refused: " + "; ".join(failed)
    return GateDecision(**base, promote=ok, checks=checks, reason=reason)
