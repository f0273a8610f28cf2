"""The one step runner: the CLI, the Airflow operators and the tests all run steps through it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from twin_core.domain.results import StepResult
from twin_core.pipeline.registry import resolve_step

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.pipeline")


class StepFailed(RuntimeError):
    """A step raised or returned ``ok=False``; carries the partial results of the pipeline."""

    def __init__(self, step: str, results: list[StepResult], cause: BaseException | None = None):
        self.step, self.results = step, results
        super().__init__(f"step {step!r} failed" + (f": {cause}" if cause else ""))


def run_step(name: str, cfg: TwinSettings) -> StepResult:
    """Run one registered step, timing it; exceptions propagate (Airflow retries them)."""
    fn = resolve_step(name)
    cfg.paths.ensure()
    log.info("step started", extra={"step": name, "run": cfg.run_name})
    started, t0 = datetime.now(UTC), time.perf_counter()
    result = fn(cfg)
    result.started_at, result.duration_s = started, round(time.perf_counter() - t0, 3)
    log.info(
        "step finished",
        extra={
            "step": name,
            "ok": result.ok,
            "duration_s": result.duration_s,
            **{f"n_{k}": v for k, v in result.counts.items()},
        },
    )
    return result


def run_steps(steps: Sequence[str], cfg: TwinSettings, *, stop_on_failure: bool = True) -> list[StepResult]:
    """Run steps in order; a failure stops the run (by default) and is raised with the results so far."""
    results: list[StepResult] = []
    for name in steps:
        try:
            result = run_step(name, cfg)
        except Exception as exc:
            log.exception("step raised", extra={"step": name})
            results.append(StepResult(step=name, ok=False, message=f"{type(exc).__name__}: {exc}"))
            raise StepFailed(name, results, exc) from exc
        results.append(result)
        if not result.ok and stop_on_failure:
            raise StepFailed(name, results)
    return results


def run_pipeline(cfg: TwinSettings) -> list[StepResult]:
    """Run the configured pipeline's steps."""
    return run_steps(cfg.pipeline.steps, cfg, stop_on_failure=cfg.pipeline.stop_on_failure)
