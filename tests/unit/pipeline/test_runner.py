"""The step runner: order, timing, failure stops the run and carries partial results."""

from __future__ import annotations

import pytest

from twin_core.domain.results import StepResult
from twin_core.pipeline import registry
from twin_core.pipeline.runner import StepFailed, run_steps

CALLS: list[str] = []


def run_alpha(cfg: object) -> StepResult:
    CALLS.append("alpha")
    return StepResult(step="alpha", counts={"n": 1})


def run_broken(cfg: object) -> StepResult:
    CALLS.append("broken")
    raise RuntimeError("disk on fire")


def run_never(cfg: object) -> StepResult:
    CALLS.append("never")
    return StepResult(step="never")


@pytest.fixture(autouse=True)
def _steps(monkeypatch: pytest.MonkeyPatch) -> None:
    CALLS.clear()
    for name in ("alpha", "broken", "never"):
        monkeypatch.setitem(registry.STEPS, name, f"{__name__}:run_{name}")


def test_steps_run_in_order_and_are_timed(settings: object) -> None:
    results = run_steps(["alpha", "alpha"], settings)
    assert CALLS == ["alpha", "alpha"]
    assert [r.counts for r in results] == [{"n": 1}, {"n": 1}]
    assert all(r.duration_s >= 0 for r in results)


def test_failure_stops_and_keeps_partial_results(settings: object) -> None:
    with pytest.raises(StepFailed) as err:
        run_steps(["alpha", "broken", "never"], settings)
    assert CALLS == ["alpha", "broken"]
    assert [r.ok for r in err.value.results] == [True, False]
    assert "disk on fire" in err.value.results[-1].message


def test_unknown_step_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="unknown step 'zzz'"):
        registry.resolve_step("zzz")
