"""The step registry: stage name -> ``module:function``; every step is ``run_<step>(cfg) -> StepResult``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings
    from twin_core.domain.results import StepResult

StepFn = Callable[["TwinSettings"], "StepResult"]

# Kept as import strings so that listing or validating steps never imports a heavy stage.
STEPS: dict[str, str] = {
    "init": "twin_core.pipeline.builtin:run_init",
    "status": "twin_core.pipeline.builtin:run_status",
    "feature": "twin_core.features.pipeline:run_features",
    "etl": "twin_core.crawl.pipeline:run_etl",
    "base_model": "twin_core.training.base_model:run_base_model",
    "sft": "twin_core.training.steps:run_sft",
    "dpo": "twin_core.training.steps:run_dpo",
    "dataset": "twin_core.datasets.pipeline:run_dataset",
    "eval": "twin_core.evaluation.pipeline:run_eval",
    "engine": "twin_core.serving.engine:run_engine_build",
    "deploy": "twin_core.serving.deploy:run_deploy",
    "ask": "twin_core.api.ask:run_ask",
    "monitor": "twin_core.monitoring.step:run_monitor",
}


def resolve_step(name: str) -> StepFn:
    """Import a registered step function by stage name."""
    if name not in STEPS:
        raise KeyError(f"unknown step {name!r}; known: {sorted(STEPS)}")
    module, _, fn = STEPS[name].partition(":")
    return getattr(importlib.import_module(module), fn)
