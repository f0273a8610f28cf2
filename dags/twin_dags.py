"""DAG factory: every DAG in conf/airflow/<name>.yaml becomes an Airflow DAG of TwinStageOperator tasks.

Cheap to parse: PyYAML, pydantic and the operator module only (no Hydra compose, no torch).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from operators.stage import TwinStageOperator
from twin_core.orchestration.dagspec import load_dag_specs

SPEC = load_dag_specs()

for spec in SPEC["dags"]:
    with DAG(
        dag_id=spec["dag_id"],
        description=spec["description"] or None,
        schedule=spec["schedule"],
        start_date=datetime.fromisoformat(spec["start_date"]),
        catchup=spec["catchup"],
        tags=spec["tags"],
        max_active_runs=1,
        default_args={
            "retries": SPEC["retries"],
            "retry_delay": timedelta(seconds=SPEC["retry_delay_s"]),
            "execution_timeout": timedelta(seconds=SPEC["execution_timeout_s"]),
            **({"pool": SPEC["pool"]} if SPEC["pool"] else {}),
        },
        params={
            "overrides": Param(
                "", type="string", description="Hydra overrides for every task, e.g. chunking.chunk_size=800"
            )
        },
    ) as dag:
        previous = None
        for stage in spec["stages"]:
            task = TwinStageOperator(task_id=stage, stage=stage, overrides=spec["overrides"], run_mode=SPEC["run_mode"])
            if previous is not None:
                previous >> task
            previous = task
    globals()[spec["dag_id"]] = dag
