"""One thin operator per stage: each fixes its stage name and defaults, and calls twin_core once."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

import operators.stage as stage_module
from operators import (
    OPERATORS,
    DatasetOperator,
    DpoOperator,
    EtlOperator,
    SftOperator,
    TwinStageOperator,
    operator_for,
)
from twin_core.pipeline.registry import STEPS


def test_every_stage_class_fixes_its_stage() -> None:
    for stage, cls in OPERATORS.items():
        op = cls(task_id=f"t_{stage}")
        assert (op.stage, cls.stage_name) == (stage, stage)
        assert isinstance(op, TwinStageOperator)


def test_every_registered_stage_has_an_operator() -> None:
    assert set(STEPS) <= set(OPERATORS), sorted(set(STEPS) - set(OPERATORS))


def test_a_stage_class_refuses_another_stage() -> None:
    with pytest.raises(ValueError, match="SftOperator runs stage 'sft', not 'dpo'"):
        SftOperator(task_id="x", stage="dpo")


def test_defaults_apply_and_explicit_arguments_win() -> None:
    sft = SftOperator(task_id="sft")
    assert (sft.retries, sft.execution_timeout) == (1, timedelta(hours=12))
    mine = SftOperator(task_id="sft2", retries=4, execution_timeout=timedelta(minutes=5), pool="twin_training")
    assert (mine.retries, mine.execution_timeout, mine.pool) == (4, timedelta(minutes=5), "twin_training")


def test_unknown_future_stage_gets_the_generic_operator() -> None:
    assert operator_for("etl") is EtlOperator
    assert operator_for("monitoring") is TwinStageOperator


@pytest.mark.parametrize("cls", [EtlOperator, DatasetOperator, DpoOperator])
def test_execute_is_one_call_with_exact_arguments(
    cls: type[TwinStageOperator], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake(stage: str, overrides: list[str], *, mode: str, env: Any) -> dict[str, Any]:
        calls.append((stage, overrides, mode, env))
        return {"step": stage, "ok": True, "counts": {"n": 1}}

    monkeypatch.setattr(stage_module, "run_stage", fake)
    op = cls(task_id="t", overrides=["seed=7"], run_mode="subprocess")
    out = op.execute({"dag_run": SimpleNamespace(conf={"overrides": ["run_name=x"]}), "params": {}})
    assert calls == [(cls.stage_name, ["seed=7", "run_name=x"], "subprocess", None)]
    assert out == {"step": cls.stage_name, "ok": True, "counts": {"n": 1}}
