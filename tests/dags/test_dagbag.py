"""Every DAG file loads with no import error or cycle, cheaply, and matches conf/airflow."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from twin_core.orchestration.dagspec import load_dag_specs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    t0 = time.perf_counter()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    print(f"\nDagBag parse time for dags/: {time.perf_counter() - t0:.2f} s ({len(bag.dags)} DAGs)")
    return bag


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_dags_match_config(dagbag) -> None:
    spec = load_dag_specs()
    assert sorted(dagbag.dag_ids) == sorted(d["dag_id"] for d in spec["dags"])
    for d in spec["dags"]:
        dag = dagbag.dags[d["dag_id"]]
        assert [t.task_id for t in dag.topological_sort()] == d["stages"]
        for task in dag.tasks:
            assert type(task).__name__ == "TwinStageOperator"
            assert task.retries == spec["retries"]


def test_dag_module_is_cheap_to_parse() -> None:
    import subprocess

    code = (
        "import sys; sys.path.insert(0, 'dags'); import twin_dags; "
        "heavy = [m for m in ('torch', 'transformers', 'hydra', 'lancedb', 'montydb') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
