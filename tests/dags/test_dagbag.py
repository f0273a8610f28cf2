"""Every DAG file loads with no import error or cycle, cheaply, and matches conf/airflow task by task."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from operators import TwinStageOperator, operator_for
from twin_core.orchestration.dagspec import load_airflow_settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_airflow_settings()


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    t0 = time.perf_counter()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    print(f"\nDagBag parse time for dags/: {time.perf_counter() - t0:.2f} s ({len(bag.dags)} DAGs)")
    return bag


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_factory_builds_the_config_dags_in_a_stable_order(dagbag) -> None:
    import runpy

    from airflow.sdk import DAG

    def order() -> list[str]:
        return [k for k, v in runpy.run_path(str(ROOT / "dags/twin_dags.py")).items() if isinstance(v, DAG)]

    assert order() == order() == [d.dag_id for d in SETTINGS.dags]
    assert sorted(dagbag.dags) == sorted(d.dag_id for d in SETTINGS.dags)


def test_dags_match_config(dagbag) -> None:
    for spec in SETTINGS.dags:
        dag = dagbag.dags[spec.dag_id]
        assert [t.task_id for t in dag.topological_sort()] == spec.stages
        assert dag.max_active_runs == spec.max_active_runs and set(dag.tags) == set(spec.tags)
        assert "overrides" in dag.params


def test_tasks_get_their_stage_operator_and_settings(dagbag) -> None:
    for spec in SETTINGS.dags:
        for task in dagbag.dags[spec.dag_id].tasks:
            want = SETTINGS.task(task.task_id)
            assert type(task) is operator_for(task.task_id) and isinstance(task, TwinStageOperator)
            assert (task.stage, task.run_mode) == (task.task_id, SETTINGS.run_mode)
            assert task.retries == want.retries
            assert task.execution_timeout == timedelta(seconds=want.execution_timeout_s)
            assert task.pool == (want.pool or "default_pool")
            assert [a.uri for a in task.outlets] == (want.outlets if spec.emit_assets else [])


def test_schedules_cron_with_intervals_or_assets(dagbag) -> None:
    from airflow.sdk import CronDataIntervalTimetable

    for spec in SETTINGS.dags:
        timetable = dagbag.dags[spec.dag_id].timetable
        if isinstance(spec.schedule, str):
            assert isinstance(timetable, CronDataIntervalTimetable), spec.dag_id
        elif isinstance(spec.schedule, list):
            assert sorted(a.uri for a in timetable.asset_condition.objects) == sorted(spec.schedule)


def test_asset_chain_follows_the_pipeline(dagbag) -> None:
    produced = {a.uri: d.dag_id for d in dagbag.dags.values() for t in d.tasks for a in t.outlets}
    consumers = {
        d.dag_id: sorted({produced[uri] for uri in s.schedule})
        for s in SETTINGS.dags
        if isinstance(s.schedule, list)
        for d in [dagbag.dags[s.dag_id]]
    }
    assert consumers.get("twin_feature") == ["twin_etl"]
    assert all(producer != consumer for consumer, producers in consumers.items() for producer in producers)


def test_pools_referenced_are_declared_for_airflow_pools_set() -> None:
    used = {SETTINGS.task(s).pool for d in SETTINGS.dags for s in d.stages} - {None}
    assert used <= set(SETTINGS.pools)
    assert SETTINGS.pools["twin_training"].slots == 1


def test_dag_module_is_cheap_to_parse() -> None:
    code = (
        "import sys, time; t0 = time.perf_counter(); sys.path.insert(0, 'dags'); import twin_dags; "
        "heavy = [m for m in ('torch', 'transformers', 'hydra', 'lancedb', 'montydb', 'sentence_transformers') "
        "if m in sys.modules]; print(heavy); print(round(time.perf_counter() - t0, 2), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    print(f"\nimport twin_dags in a fresh interpreter (Airflow SDK included): {out.stderr.strip().splitlines()[-1]} s")
