"""Read the ``airflow`` config group for the DAG factory: cheap (PyYAML only, no Hydra, no torch)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def airflow_conf_path() -> Path:
    """``conf/airflow/<$TWIN_AIRFLOW_CONFIG or default>.yaml`` under the project root."""
    root = Path(os.environ.get("TWIN_ROOT") or Path(__file__).resolve().parents[2])
    conf = Path(os.environ.get("TWIN_CONF_DIR") or root / "conf")
    return conf / "airflow" / f"{os.environ.get('TWIN_AIRFLOW_CONFIG', 'default')}.yaml"


def load_dag_specs(path: Path | None = None) -> dict[str, Any]:
    """The validated ``airflow`` group as plain data: task defaults plus the list of DAG specs."""
    from twin_core.orchestration.settings import AirflowSettings

    path = path or airflow_conf_path()
    raw = yaml.safe_load(path.read_text()) or {}
    raw.pop("_target_", None)
    return AirflowSettings.model_validate(raw).model_dump()
