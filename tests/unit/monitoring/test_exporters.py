"""Exporters: OpenTelemetry spans (in-memory exporter) and a W&B run in offline mode."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from twin_core.monitoring.exporters import OtelExporter, WandbExporter, make_exporters
from twin_core.monitoring.monitor import PromptMonitor
from twin_core.monitoring.records import PromptLog
from twin_core.monitoring.settings import MonitoringSettings


def record(i: int = 1, status: str = "ok") -> PromptLog:
    return PromptLog(
        request_id=f"r{i}",
        ts=datetime(2025, 1, 1, tzinfo=UTC),
        status=status,
        http_status=200 if status == "ok" else 500,
        error=None if status == "ok" else "boom",
        query="who am I",
        prompt="SYSTEM ... who am I",
        answer="you",
        retrieved_ids=["c1", "c2"],
        latency={"total_s": 1.5, "first_token_s": 0.3, "retrieval_s": 0.1, "generation_s": 1.2},
        usage={"prompt_tokens": 50, "completion_tokens": 7},
        content_type="post",
    )


def test_otel_one_span_per_request_without_texts(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("monitoring.store_prompts=false")
    spans = InMemorySpanExporter()
    with PromptMonitor(
        cfg.monitoring, cfg.warehouse, exporters=[OtelExporter(cfg.monitoring, span_exporter=spans)]
    ) as m:
        m.record(record(1))
        m.record(record(2, status="error"))
        done = spans.get_finished_spans()
    assert len(done) == 2
    a = done[0].attributes
    assert a["twin.request_id"] == "r1" and list(a["twin.retrieved_ids"]) == ["c1", "c2"]
    assert a["twin.latency.total_s"] == 1.5 and a["twin.usage.prompt_tokens"] == 50
    assert "twin.prompt" not in a and "twin.query" not in a
    assert (done[0].end_time - done[0].start_time) == pytest.approx(1.5e9)
    assert done[1].status.status_code == StatusCode.ERROR
    assert done[0].resource.attributes["service.name"] == "llm-twin-api"


def test_otel_texts_when_store_prompts() -> None:
    spans = InMemorySpanExporter()
    ex = OtelExporter(MonitoringSettings(store_prompts=True), span_exporter=spans)
    ex.export(record())
    ex.close()
    assert spans.get_finished_spans()[0].attributes["twin.prompt"] == "SYSTEM ... who am I"


def test_make_exporters_builds_the_configured_ones() -> None:
    made = make_exporters(MonitoringSettings(exporters=["otel"], otel_endpoint="http://127.0.0.1:9/v1/traces"))
    assert [e.name for e in made] == ["otel"]
    for e in made:
        e.close()


def test_wandb_offline_run_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    ex = WandbExporter(MonitoringSettings(exporters=["wandb"]))
    ex.export(record(1))
    ex.export(record(2))
    ex.close()
    runs = list((tmp_path / "wandb").glob("wandb/offline-run-*"))
    assert len(runs) == 1
    assert list(runs[0].glob("*.wandb"))
