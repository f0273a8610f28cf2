"""The ``airflow`` group's schema: one rule per test, the shipped YAML valid both cheaply and through Hydra."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from twin_core.orchestration.dagspec import airflow_conf_path, load_airflow_settings
from twin_core.orchestration.settings import AirflowSettings, DagSpec, TaskSettings

ROOT = Path(__file__).resolve().parents[3]


def _settings(**over: Any) -> AirflowSettings:
    base: dict[str, Any] = {"dags": [{"dag_id": "d", "stages": ["init"]}]}
    return AirflowSettings.model_validate(base | over)


def test_shipped_config_is_valid_and_orders_the_chain() -> None:
    s = load_airflow_settings(ROOT / "conf/airflow/default.yaml")
    e2e = next(d for d in s.dags if d.dag_id == "twin_end_to_end")
    chain = ["etl", "feature", "base_model", "dataset", "sft", "dpo", "eval", "deploy"]
    assert [st for st in chain if st in e2e.stages] == [st for st in e2e.stages if st in chain]
    assert e2e.schedule and isinstance(e2e.schedule, str)
    assert next(d for d in s.dags if d.dag_id == "twin_etl").schedule == "@weekly"
    assert s.task("sft").pool == "twin_training" and s.pools["twin_training"].slots == 1


def test_hydra_composes_the_same_group(make_settings: Any) -> None:
    cfg = make_settings()
    assert cfg.airflow == load_airflow_settings(ROOT / "conf/airflow/default.yaml")


def test_unknown_stage_is_rejected_with_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown stage\(s\) \['crawl'\]; known: .*'etl'"):
        DagSpec(dag_id="d", stages=["init", "crawl"])


def test_a_registered_stage_is_accepted_before_its_module_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    from twin_core.pipeline import registry

    monkeypatch.setitem(registry.STEPS, "ghost", "twin_core.not_written_yet:run_ghost")
    assert DagSpec(dag_id="d", stages=["etl", "ghost"]).stages == ["etl", "ghost"]
    with pytest.raises(ModuleNotFoundError, match=r"twin_core\.not_written_yet"):
        registry.resolve_step("ghost")  # fails only when the task runs


def test_unknown_stage_in_stage_settings_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"airflow.stages: unknown stage\(s\) \['trainn'\]"):
        _settings(stages={"trainn": {}})


def test_a_stage_twice_in_one_dag_is_rejected() -> None:
    with pytest.raises(ValidationError, match="a stage appears twice"):
        DagSpec(dag_id="d", stages=["init", "init"])


def test_bad_cron_is_rejected() -> None:
    with pytest.raises(ValidationError, match="'every week' is not a cron expression"):
        DagSpec(dag_id="d", stages=["init"], schedule="every week")


def test_asset_schedule_needs_uris() -> None:
    with pytest.raises(ValidationError, match="asset URIs"):
        DagSpec(dag_id="d", stages=["init"], schedule=["raw documents"])


def test_outlets_must_be_uris() -> None:
    with pytest.raises(ValidationError, match=r"not asset URIs .*\['warehouse'\]"):
        TaskSettings(outlets=["warehouse"])


def test_schedule_on_an_asset_nobody_produces_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"d2: schedule waits on \['twin://x/y'\], which no DAG"):
        _settings(
            dags=[
                {"dag_id": "d", "stages": ["init"]},
                {"dag_id": "d2", "stages": ["status"], "schedule": ["twin://x/y"]},
            ]
        )


def test_assets_of_a_dag_without_emit_assets_do_not_count() -> None:
    dags = [
        {"dag_id": "a", "stages": ["init"], "emit_assets": False},
        {"dag_id": "b", "stages": ["status"], "schedule": ["twin://x/init"]},
    ]
    with pytest.raises(ValidationError, match="which no DAG with emit_assets produces"):
        _settings(dags=dags, stages={"init": {"outlets": ["twin://x/init"]}})


def test_undeclared_pool_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"pool\(s\) \['gpu'\] used but not declared"):
        _settings(stages={"init": {"pool": "gpu"}})


def test_repeated_dag_id_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"dag_id repeated: \['d'\]"):
        _settings(dags=[{"dag_id": "d", "stages": ["init"]}, {"dag_id": "d", "stages": ["status"]}])


def test_unknown_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="schedule_interval"):
        DagSpec(dag_id="d", stages=["init"], schedule_interval="@daily")  # type: ignore[call-arg]


def test_task_merges_stage_values_over_group_defaults() -> None:
    s = _settings(
        retries=3,
        execution_timeout_s=100,
        pools={"p": {"slots": 1}},
        stages={"init": {"retries": 0, "pool": "p", "resources": {"gpu": 1}}},
    )
    init, status = s.task("init"), s.task("status")
    assert (init.retries, init.execution_timeout_s, init.pool, init.resources.gpu) == (0, 100, "p", 1)
    assert (status.retries, status.execution_timeout_s, status.pool) == (3, 100, None)
    assert status.resources == s.container.resources


def test_start_date_accepts_yaml_dates() -> None:
    spec = DagSpec.model_validate(yaml.safe_load("{dag_id: d, stages: [init], start_date: 2026-02-01}"))
    assert spec.start_date == date(2026, 2, 1)


def test_config_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TWIN_AIRFLOW_CONFIG", "prod")
    assert airflow_conf_path() == ROOT / "conf/airflow/prod.yaml"
    monkeypatch.setenv("TWIN_AIRFLOW_CONFIG", str(tmp_path / "mine.yaml"))
    assert airflow_conf_path() == tmp_path / "mine.yaml"


def test_pools_file_for_airflow_pools_import() -> None:
    from twin_core.orchestration.pools import pools_json

    s = _settings(pools={"twin_training": {"slots": 1, "description": "one at a time"}})
    assert pools_json(s) == {"twin_training": {"slots": 1, "description": "one at a time", "include_deferred": False}}
