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
    raw = _read(path or airflow_conf_path())
    raw.pop("_target_", None)
    return AirflowSettings.model_validate(raw)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key (as Hydra does); any other value of ``top`` replaces the base's."""
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _read(path: Path) -> dict[str, Any]:
    """One file, with a Hydra-style ``defaults: [<sibling>, _self_]`` list merged in order (variants of a file)."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    merged: dict[str, Any] = {}
    defaults = raw.pop("defaults", None) or ["_self_"]
    for entry in defaults if "_self_" in defaults else [*defaults, "_self_"]:
        merged = _merge(merged, raw if entry == "_self_" else _read(path.with_name(f"{entry}.yaml")))
    return merged


def load_dag_specs(path: Path | None = None) -> dict[str, Any]:
    """The validated ``airflow`` group as plain data: task defaults plus the list of DAG specs."""
    return load_airflow_settings(path).model_dump()
