"""DAG factory: every DAG in conf/airflow/<name>.yaml becomes an Airflow DAG of per-stage operators, in order.

Cheap to parse: PyYAML, pydantic and the operator modules only (no Hydra compose, no torch, no stores).
Schedules: a cron/preset gets real weekly data intervals (backfills crawl their own week); a list of asset URIs
makes the DAG data-aware (it runs when those Assets are updated).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param

from operators.stages import operator_for
from twin_core.orchestration.dagspec import load_airflow_settings
from twin_core.orchestration.settings import AirflowSettings, DagSpec

SETTINGS = load_airflow_settings()


def _overrides_param() -> Param:
    """The trigger form's field (a string); dag_run.conf may also give a list."""
    return Param(
        "",
        type=["string", "array"],
        items={"type": "string"},
        description="Hydra overrides for every task of this run, e.g. chunking.chunk_size=800 crawl.per_host_rate=1",
    )


def _schedule(spec: DagSpec) -> Any:
    if isinstance(spec.schedule, list):
        return [Asset(uri) for uri in spec.schedule]
    if spec.schedule is None:
        return None
    return CronDataIntervalTimetable(spec.schedule, timezone="UTC")


def _doc(spec: DagSpec, settings: AirflowSettings) -> str:
    waits = f"Runs when updated: `{'`, `'.join(spec.schedule)}`." if isinstance(spec.schedule, list) else ""
    outlets = sorted({u for s in spec.stages for u in settings.task(s).outlets}) if spec.emit_assets else []
    lines = [
        f"### {spec.dag_id}",
        spec.description,
        f"Stages: {' → '.join(spec.stages)} (each runs `twin step <stage>`).",
        waits,
        f"Updates: `{'`, `'.join(outlets)}`." if outlets else "",
        "Trigger with config: put Hydra overrides in the **overrides** field (e.g. `chunking.chunk_size=800`).",
    ]
    return "\n\n".join(line for line in lines if line)


def build_dag(spec: DagSpec, settings: AirflowSettings) -> DAG:
    """One DAG: a chain of stage operators with the spec's schedule, retries, timeouts, pools and outlets."""
    with DAG(
        dag_id=spec.dag_id,
        description=spec.description or None,
        doc_md=_doc(spec, settings),
        schedule=_schedule(spec),
        start_date=datetime.combine(spec.start_date, datetime.min.time(), tzinfo=UTC),
        catchup=spec.catchup,
        tags=spec.tags,
        max_active_runs=spec.max_active_runs,
        params={"overrides": _overrides_param()},
    ) as dag:
        previous = None
        for stage in spec.stages:
            task = settings.task(stage)
            op = operator_for(stage)(
                task_id=stage,
                stage=stage,
                overrides=[*spec.overrides, *task.overrides],
                run_mode=settings.run_mode,
                window=task.window.model_dump() if task.window and spec.data_window else None,
                container=settings.container.model_dump() if settings.run_mode in ("kubernetes", "docker") else None,
                container_resources=task.resources.model_dump() if task.resources else None,
                retries=task.retries,
                retry_delay=timedelta(seconds=task.retry_delay_s or 0),
                execution_timeout=timedelta(seconds=task.execution_timeout_s or settings.execution_timeout_s),
                outlets=[Asset(uri) for uri in task.outlets] if spec.emit_assets else [],
                **({"pool": task.pool} if task.pool else {}),
            )
            if previous is not None:
                previous >> op
            previous = op
    return dag


for _spec in SETTINGS.dags:
    globals()[_spec.dag_id] = build_dag(_spec, SETTINGS)
