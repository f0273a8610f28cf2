"""The monitor step end to end: records in the warehouse -> summary, alerts (log + webhook), JSON/Markdown report."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from twin_core.monitoring.monitor import PromptMonitor
from twin_core.monitoring.records import PromptLog
from twin_core.monitoring.step import run_monitor


class _Hook(BaseHTTPRequestHandler):
    posts: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        _Hook.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_monitor_step(make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TWIN_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_address[1]}/")
    _Hook.posts = []
    cfg = make_settings("monitoring.alerts.latency_p95_s=3.0", "monitoring.alerts.window_minutes=30")
    now = datetime.now(UTC)
    try:
        with PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[]) as m:
            m.record(PromptLog(request_id="old", ts=now - timedelta(hours=5), latency={"total_s": 99.0}))
            for i in range(10):
                m.record(
                    PromptLog(
                        request_id=f"r{i}",
                        ts=now - timedelta(minutes=i),
                        status="error" if i == 0 else "ok",
                        http_status=503 if i == 0 else 200,
                        latency={"total_s": 10.0 if i < 2 else 1.0, "first_token_s": 0.2},
                        usage={"prompt_tokens": 100, "completion_tokens": 20},
                        retrieved_ids=["a", "b"],
                    )
                )
        result = run_monitor(cfg)
    finally:
        server.shutdown()
        server.server_close()
    assert result.ok and result.step == "monitor"
    assert result.counts == {
        "requests_window": 10,
        "errors_window": 1,
        "requests_total": 11,
        "errors_total": 1,
        "alerts": 2,
    }
    assert result.metrics["error_rate"] == pytest.approx(0.1)
    assert result.metrics["latency_p95_s"] == pytest.approx(10.0)
    report = json.loads(Path(result.artifacts["report"]).read_text())
    assert report["window"]["requests"] == 10 and {a["metric"] for a in report["alerts"]} == {
        "latency_p95_s",
        "error_rate",
    }
    md = Path(result.artifacts["report_md"]).read_text()
    assert "| requests | 10 |" in md and "alert latency_p95_s" in md
    assert result.artifacts["report"].startswith(str(cfg.paths.reports_dir / "monitoring"))
    assert sorted(p["alert"]["metric"] for p in _Hook.posts) == ["error_rate", "latency_p95_s"]


def test_monitor_step_without_requests(make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWIN_ALERT_WEBHOOK", raising=False)
    result = run_monitor(make_settings())
    assert result.ok and result.counts["requests_total"] == 0 and result.counts["alerts"] == 0
    assert "no alerts" in result.message
