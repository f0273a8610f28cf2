"""TwinStageOperator: one pipeline stage as one Airflow task, configured by templated Hydra overrides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from airflow.sdk import BaseOperator

from twin_core.orchestration.overrides import run_overrides, window_overrides
from twin_core.orchestration.runner import run_stage

CONTAINER_MODES = ("kubernetes", "docker")


class TwinStageOperator(BaseOperator):
    """Runs ``twin step <stage>`` with Hydra overrides; the StepResult (small metadata) goes to XCom.

    Overrides, in order: the task's templated ``overrides`` (``{{ ds }}``, ``{{ params.x }}``), the data interval
    under ``window`` keys, then the run's ``dag_run.conf["overrides"]`` (list or string) or ``params.overrides``.
    """

    template_fields: Sequence[str] = ("overrides", "env")
    ui_color = "#e8f0fe"
    stage_name: ClassVar[str | None] = None  # fixed by the per-stage subclasses
    defaults: ClassVar[Mapping[str, Any]] = {}  # BaseOperator defaults of the per-stage subclasses

    def __init__(
        self,
        *,
        stage: str | None = None,
        overrides: Sequence[str] = (),
        run_mode: str = "subprocess",
        env: dict[str, str] | None = None,
        window: Mapping[str, str] | None = None,
        container: Mapping[str, Any] | None = None,
        container_resources: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        stage = stage or self.stage_name
        if not stage or (self.stage_name and stage != self.stage_name):
            raise ValueError(f"{type(self).__name__} runs stage {self.stage_name!r}, not {stage!r}")
        super().__init__(**{**self.defaults, **kwargs})
        self.stage = stage
        self.overrides = list(overrides)
        self.run_mode = run_mode
        self.env = env
        self.window = dict(window) if window else None
        self.container = dict(container) if container else None
        self.container_resources = dict(container_resources) if container_resources else None

    def step_overrides(self, context: Mapping[str, Any]) -> list[str]:
        """Everything this run passes to ``twin step``: task overrides, data interval, then the run's own."""
        dag_run = context.get("dag_run")
        return [
            *self.overrides,
            *window_overrides(self.window, context.get("data_interval_start"), context.get("data_interval_end")),
            *run_overrides(getattr(dag_run, "conf", None), context.get("params")),
        ]

    def execute(self, context: Any) -> dict[str, Any]:
        """One call: ``run_stage`` (subprocess / in-process) or, in container modes, one pod or container."""
        overrides = self.step_overrides(context)
        self.log.info("twin stage %s with overrides %s (%s)", self.stage, overrides, self.run_mode)
        if self.run_mode in CONTAINER_MODES:
            from operators.containers import run_in_container

            return run_in_container(self, overrides, context)
        return run_stage(self.stage, overrides, mode=self.run_mode, env=self.env)  # type: ignore[arg-type]
