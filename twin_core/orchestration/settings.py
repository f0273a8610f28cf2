"""Airflow settings: which DAGs exist, their stages, schedules and retries (read by the DAG factory)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from twin_core.config.base import Settings


class DagSpec(Settings):
    """One DAG: its stages run in order, each as one task."""

    dag_id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    stages: list[str] = Field(min_length=1)
    schedule: str | None = None
    start_date: str = "2026-01-01"
    catchup: bool = False
    tags: list[str] = Field(default_factory=list)
    overrides: list[str] = Field(default_factory=list, description="Hydra overrides for every task (templated).")

    @field_validator("stages")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        from twin_core.pipeline.registry import STEPS

        unknown = [s for s in v if s not in STEPS]
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; known: {sorted(STEPS)}")
        return v


class AirflowSettings(Settings):
    """The ``airflow`` group: DAG specs plus task defaults."""

    dags: list[DagSpec] = Field(min_length=1)
    retries: int = Field(default=2, ge=0)
    retry_delay_s: int = Field(default=60, ge=0)
    execution_timeout_s: int = Field(default=3 * 3600, gt=0)
    run_mode: Literal["subprocess", "in_process"] = "subprocess"
    pool: str | None = None
