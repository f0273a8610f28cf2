"""A DAG of the existing steps runs to success under the real ``airflow dags test`` (SQLite metadata DB)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "TWIN_DATA_DIR": str(home / "twin-data"),
        "TWIN_PYTHON": sys.executable,
    }
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    return env


def _dags_test(dag_id: str, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", dag_id, "2026-01-05"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return log


def test_foundation_dag_runs_to_success(airflow_env: dict[str, str]) -> None:
    log = _dags_test("twin_foundation", airflow_env)
    assert re.search(r"DagRun Finished: dag_id=twin_foundation.*state=success", log), log[-3000:]
    assert log.count("new_state=success") == 2
    for stage in ("init", "status"):
        assert re.search(rf"step finished step={stage} ok=True", log), stage
    data = Path(airflow_env["TWIN_DATA_DIR"])
    assert (data / "warehouse").is_dir() and (data / "vectors").is_dir()
