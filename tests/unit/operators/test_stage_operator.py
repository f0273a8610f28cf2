"""TwinStageOperator stores arguments only and makes exactly one call into twin_core."""

from __future__ import annotations

from typing import Any

import pytest

import operators.stage as stage_module
from operators.stage import TwinStageOperator


def test_init_does_no_io_and_declares_template_fields() -> None:
    op = TwinStageOperator(task_id="etl", stage="etl", overrides=["crawl.since={{ ds }}"])
    assert op.template_fields == ("overrides",)
    assert op.overrides == ["crawl.since={{ ds }}"]


def test_execute_makes_one_call_with_exact_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake_run_stage(stage: str, overrides: list[str], *, mode: str, env: Any) -> dict[str, Any]:
        calls.append((stage, overrides, mode, env))
        return {"step": stage, "ok": True}

    monkeypatch.setattr(stage_module, "run_stage", fake_run_stage)
    op = TwinStageOperator(task_id="feature", stage="feature", overrides=["a=1"], run_mode="in_process")
    out = op.execute({"params": {"overrides": "chunking.chunk_size=800 'x.y=two words'"}})
    assert calls == [("feature", ["a=1", "chunking.chunk_size=800", "x.y=two words"], "in_process", None)]
    assert out == {"step": "feature", "ok": True}
