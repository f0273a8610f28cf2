"""Airflow settings: the DAGs, their stages, schedules (cron or Assets), task defaults, pools and containers."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin_core.config.base import Settings

RunMode = Literal["subprocess", "in_process", "kubernetes", "docker"]
ASSET_URI = r"^[a-z][a-z0-9+.-]*://[^\s*]+$"


def check_stages(names: list[str], where: str) -> list[str]:
    """Every name must be a registered step (``twin steps``); the step's module is imported only when it runs."""
    from twin_core.pipeline.registry import STEPS

    unknown = [s for s in names if s not in STEPS]
    if unknown:
        raise ValueError(f"{where}: unknown stage(s) {unknown}; known: {sorted(STEPS)}")
    return names


class Resources(Settings):
    """What one stage's container asks for (Kubernetes requests = limits; Docker cpus / mem_limit / GPUs)."""

    cpu: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?m?$", description="e.g. '2' or '500m'.")
    memory: str | None = Field(default=None, pattern=r"^\d+(Ki|Mi|Gi|Ti|K|M|G|T)?$", description="e.g. '8Gi'.")
    gpu: int = Field(default=0, ge=0, description="nvidia.com/gpu count.")


class WindowKeys(Settings):
    """Hydra keys that receive the run's data interval (ISO 8601), so a backfilled run covers only its week."""

    start: str = Field(pattern=r"^[A-Za-z_][\w.]*$")
    end: str = Field(pattern=r"^[A-Za-z_][\w.]*$")


class TaskSettings(Settings):
    """Per-stage task settings; unset values fall back to the ``airflow`` group's defaults."""

    retries: int | None = Field(default=None, ge=0)
    retry_delay_s: int | None = Field(default=None, ge=0)
    execution_timeout_s: int | None = Field(default=None, gt=0)
    pool: str | None = None
    outlets: list[str] = Field(default_factory=list, description="Asset URIs a successful task updates.")
    overrides: list[str] = Field(default_factory=list, description="Hydra overrides of this stage (templated).")
    window: WindowKeys | None = Field(default=None, description="Keys that receive the data interval.")
    resources: Resources | None = Field(default=None, description="Container resources (kubernetes/docker).")

    @field_validator("outlets")
    @classmethod
    def _asset_uris(cls, v: list[str]) -> list[str]:
        bad = [u for u in v if not re.match(ASSET_URI, u)]
        if bad:
            raise ValueError(f"not asset URIs (scheme://path): {bad}")
        return v


class PoolSpec(Settings):
    """An Airflow pool: tasks in it run at most ``slots`` at a time (``airflow pools set <name> <slots> <desc>``)."""

    slots: int = Field(ge=1)
    description: str = ""


class ContainerSettings(Settings):
    """The step's container for ``run_mode`` kubernetes / docker: image, environment, data volume, resources."""

    image: str = Field(default="llm-twin:0.1.0", min_length=1)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    namespace: str = Field(default="twin", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    service_account: str | None = None
    env: dict[str, str] = Field(default_factory=dict, description="Plain environment (no secrets).")
    k8s_secret: str | None = Field(default=None, description="Kubernetes Secret whose keys become env (MONGODB_URI).")
    secret_env: list[str] = Field(
        default_factory=lambda: ["MONGODB_URI", "WEAVIATE_API_KEY", "HF_TOKEN", "WANDB_API_KEY"],
        description="Docker: variables forwarded from the worker's environment as private (unlogged) env.",
    )
    data_volume: str | None = Field(default=None, description="PVC claim (kubernetes) or volume / host path (docker).")
    data_mount: str = Field(default="/data", pattern=r"^/")
    docker_url: str = "unix://var/run/docker.sock"
    network_mode: str | None = None
    resources: Resources = Resources(cpu="1", memory="4Gi")


class DagSpec(Settings):
    """One DAG: its stages run in order, each as one task; ``schedule`` is a cron/preset, null, or asset URIs."""

    dag_id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    stages: list[str] = Field(min_length=1)
    schedule: str | list[str] | None = None
    start_date: date = date(2026, 1, 4)
    catchup: bool = False
    max_active_runs: int = Field(default=1, ge=1)
    emit_assets: bool = Field(default=True, description="Tasks update their stage's outlets (triggers consumers).")
    data_window: bool = Field(
        default=False, description="Pass the run's data interval to stages with window keys (e.g. the crawl window)."
    )
    tags: list[str] = Field(default_factory=list)
    overrides: list[str] = Field(default_factory=list, description="Hydra overrides for every task (templated).")

    @field_validator("stages")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"a stage appears twice: {v}")
        return check_stages(v, "stages")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list):
            bad = [u for u in v if not re.match(ASSET_URI, u)]
            if not v or bad:
                raise ValueError(f"an asset schedule lists asset URIs (scheme://path), got {v}")
        elif isinstance(v, str) and not (v.startswith("@") or len(v.split()) in (5, 6)):
            raise ValueError(f"{v!r} is not a cron expression or preset (@daily, @weekly, ...)")
        return v


class AirflowSettings(Settings):
    """The ``airflow`` group: DAG specs plus task defaults, per-stage settings, pools and the container."""

    dags: list[DagSpec] = Field(min_length=1)
    retries: int = Field(default=2, ge=0)
    retry_delay_s: int = Field(default=60, ge=0)
    execution_timeout_s: int = Field(default=3 * 3600, gt=0)
    run_mode: RunMode = "subprocess"
    pool: str | None = None
    pools: dict[str, PoolSpec] = Field(default_factory=dict)
    stages: dict[str, TaskSettings] = Field(default_factory=dict, description="Per-stage task settings.")
    container: ContainerSettings = ContainerSettings()

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, v: dict[str, TaskSettings]) -> dict[str, TaskSettings]:
        check_stages(list(v), "airflow.stages")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> AirflowSettings:
        ids = [d.dag_id for d in self.dags]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"dag_id repeated: {dupes}")
        used = {self.pool} | {t.pool for t in self.stages.values()}
        missing = sorted(p for p in used if p and p != "default_pool" and p not in self.pools)
        if missing:
            raise ValueError(f"pool(s) {missing} used but not declared under airflow.pools")
        produced = {u for d in self.dags if d.emit_assets for s in d.stages for u in self.task(s).outlets}
        for d in self.dags:
            orphan = [u for u in d.schedule if u not in produced] if isinstance(d.schedule, list) else []
            if orphan:
                raise ValueError(f"{d.dag_id}: schedule waits on {orphan}, which no DAG with emit_assets produces")
        return self

    def task(self, stage: str) -> TaskSettings:
        """The effective settings of ``stage``'s task: its own values over the group's defaults."""
        own = self.stages.get(stage, TaskSettings())
        return own.model_copy(
            update={
                "retries": self.retries if own.retries is None else own.retries,
                "retry_delay_s": self.retry_delay_s if own.retry_delay_s is None else own.retry_delay_s,
                "execution_timeout_s": own.execution_timeout_s or self.execution_timeout_s,
                "pool": own.pool or self.pool,
                "resources": own.resources or self.container.resources,
            }
        )
