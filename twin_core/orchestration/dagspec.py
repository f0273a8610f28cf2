"""Read the ``airflow`` config group for the DAG factory: cheap (PyYAML only, no Hydra, no torch)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from twin_core.orchestration.settings import AirflowSettings


def airflow_conf_path() -> Path:
    """``conf/airflow/<$TWIN_AIRFLOW_CONFIG or default>.yaml``; a value ending in ``.yaml`` is a file path."""
    choice = os.environ.get("TWIN_AIRFLOW_CONFIG", "default")
    if choice.endswith((".yaml", ".yml")):
        return Path(choice)
    root = Path(os.environ.get("TWIN_ROOT") or Path(__file__).resolve().parents[2])
    conf = Path(os.environ.get("TWIN_CONF_DIR") or root / "conf")
    return conf / "airflow" / f"{choice}.yaml"


def load_airflow_settings(path: Path | None = None) -> AirflowSettings:
    """The validated ``airflow`` group (the YAML file alone: it uses no interpolation)."""
    path = path or airflow_conf_path()
    raw: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    raw.pop("_target_", None)
    return AirflowSettings.model_validate(raw)


def load_dag_specs(path: Path | None = None) -> dict[str, Any]:
    """The validated ``airflow`` group as plain data: task defaults plus the list of DAG specs."""
    return load_airflow_settings(path).model_dump()
