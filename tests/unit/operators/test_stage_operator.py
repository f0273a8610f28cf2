"""TwinStageOperator stores arguments only and makes exactly one call into twin_core, with exact arguments."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest
from airflow.sdk import DAG

import operators.stage as stage_module
from operators.stage import TwinStageOperator

JAN4, JAN11 = datetime(2026, 1, 4, tzinfo=UTC), datetime(2026, 1, 11, tzinfo=UTC)
WINDOW = {"start": "crawl.window_start", "end": "crawl.window_end"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []

    def fake_run_stage(stage: str, overrides: list[str], *, mode: str, env: Any) -> dict[str, Any]:
        seen.append((stage, overrides, mode, env))
        return {"step": stage, "ok": True}

    monkeypatch.setattr(stage_module, "run_stage", fake_run_stage)
    return seen


def _context(conf: dict[str, Any] | None = None, params: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return {"dag_run": SimpleNamespace(conf=conf or {}), "params": params or {}, **kw}


def test_init_does_no_io_and_declares_template_fields(calls: list[tuple[Any, ...]]) -> None:
    op = TwinStageOperator(task_id="etl", stage="etl", overrides=["crawl.since={{ ds }}"])
    assert op.template_fields == ("overrides", "env")
    assert (op.stage, op.overrides, op.run_mode, op.env, op.window) == (
        "etl",
        ["crawl.since={{ ds }}"],
        "subprocess",
        None,
        None,
    )
    assert calls == []


def test_execute_makes_one_call_with_exact_arguments(calls: list[tuple[Any, ...]]) -> None:
    op = TwinStageOperator(task_id="feature", stage="feature", overrides=["a=1"], run_mode="in_process")
    out = op.execute(_context(params={"overrides": "chunking.chunk_size=800 'x.y=two words'"}))
    assert calls == [("feature", ["a=1", "chunking.chunk_size=800", "x.y=two words"], "in_process", None)]
    assert out == {"step": "feature", "ok": True}


def test_run_conf_list_wins_over_the_param(calls: list[tuple[Any, ...]]) -> None:
    op = TwinStageOperator(task_id="etl", stage="etl", overrides=["a=1"], env={"K": "v"})
    op.execute(_context(conf={"overrides": ["b=2", "c=three words"]}, params={"overrides": "ignored=1"}))
    assert calls == [("etl", ["a=1", "b=2", "c=three words"], "subprocess", {"K": "v"})]


def test_run_conf_string_is_split(calls: list[tuple[Any, ...]]) -> None:
    TwinStageOperator(task_id="etl", stage="etl").execute(_context(conf={"overrides": "b=2 c=3"}))
    assert calls == [("etl", ["b=2", "c=3"], "subprocess", None)]


def test_data_interval_goes_to_the_window_keys_before_run_overrides(calls: list[tuple[Any, ...]]) -> None:
    op = TwinStageOperator(task_id="etl", stage="etl", overrides=["a=1"], window=WINDOW)
    op.execute(_context(conf={"overrides": "b=2"}, data_interval_start=JAN4, data_interval_end=JAN11))
    assert calls == [
        (
            "etl",
            [
                "a=1",
                "crawl.window_start=2026-01-04T00:00:00+00:00",
                "crawl.window_end=2026-01-11T00:00:00+00:00",
                "b=2",
            ],
            "subprocess",
            None,
        )
    ]


def test_manual_run_without_interval_crawls_everything(calls: list[tuple[Any, ...]]) -> None:
    op = TwinStageOperator(task_id="etl", stage="etl", window=WINDOW)
    op.execute(_context(data_interval_start=None, data_interval_end=None))
    assert calls == [("etl", [], "subprocess", None)]


def test_bad_run_conf_fails_before_any_call(calls: list[tuple[Any, ...]]) -> None:
    with pytest.raises(ValueError, match=r'dag_run.conf\["overrides"\]: expected a string or a list'):
        TwinStageOperator(task_id="etl", stage="etl").execute(_context(conf={"overrides": {"a": 1}}))
    assert calls == []


def test_overrides_are_templated_with_ds_and_params() -> None:
    with DAG("t", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
        op = TwinStageOperator(task_id="etl", stage="etl", overrides=["run_name=w{{ ds_nodash }}", "x={{ params.a }}"])
    op.render_template_fields({"ds_nodash": "20260104", "params": {"a": 5}})
    assert op.overrides == ["run_name=w20260104", "x=5"]


def test_a_stage_is_required() -> None:
    with pytest.raises(ValueError, match="runs stage None, not None"):
        TwinStageOperator(task_id="x")
