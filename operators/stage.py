"""TwinStageOperator: one pipeline stage as one Airflow task, configured by templated Hydra overrides."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from twin_core.orchestration.runner import run_stage


class TwinStageOperator(BaseOperator):
    """Runs ``twin step <stage>`` with Hydra overrides; the StepResult (small metadata) goes to XCom.

    ``overrides`` are Jinja-templated, so ``{{ ds }}`` or ``{{ data_interval_start }}`` reach the config;
    the run's ``params.overrides`` (a space-separated string from the trigger form) is appended.
    """

    template_fields: Sequence[str] = ("overrides",)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        stage: str,
        overrides: Sequence[str] = (),
        run_mode: str = "subprocess",
        env: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.stage = stage
        self.overrides = list(overrides)
        self.run_mode = run_mode
        self.env = env

    def execute(self, context: Any) -> dict[str, Any]:
        extra = shlex.split(str((context.get("params") or {}).get("overrides") or ""))
        overrides = [*self.overrides, *extra]
        self.log.info("twin stage %s with overrides %s (%s)", self.stage, overrides, self.run_mode)
        return run_stage(self.stage, overrides, mode=self.run_mode, env=self.env)  # type: ignore[arg-type]
