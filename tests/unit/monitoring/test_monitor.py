"""PromptMonitor: warehouse persistence, idempotence, thread safety, summaries, alerts and the webhook."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import numpy as np
import pytest

from twin_core.monitoring.monitor import Alert, PromptMonitor, Summary, post_webhook
from twin_core.monitoring.records import PromptLog

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_log(i: int, total: float = 1.0, status: str = "ok", ts: datetime | None = None, **kw: Any) -> PromptLog:
    return PromptLog(
        request_id=f"req-{i}",
        ts=ts or T0 + timedelta(seconds=i),
        status=status,
        http_status=200 if status == "ok" else 503,
        query=f"question {i}",
        prompt=f"prompt {i}",
        answer=f"answer {i}",
        retrieved_ids=[f"c{i % 3}", "c9"],
        sources=[{"document_id": f"d{i % 2}"}],
        latency={"total_s": total, "first_token_s": total / 4, "retrieval_s": 0.01},
        usage={"prompt_tokens": 10, "completion_tokens": 5},
        content_type=kw.pop("content_type", "post"),
        guardrails=[{"guard": "pii", "action": "redact", "count": 1}],
        **kw,
    )


@pytest.fixture
def cfg(make_settings: Callable[..., Any]) -> Any:
    return make_settings()


@pytest.fixture
def monitor(cfg: Any) -> Iterator[PromptMonitor]:
    with PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[]) as m:
        yield m


def test_record_get_and_persistence_across_instances(cfg: Any) -> None:
    with PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[]) as m:
        m.record(make_log(1, 2.5))
        got = m.get("req-1")
    assert got is not None and got.latency["total_s"] == 2.5 and got.ts == T0 + timedelta(seconds=1)
    with PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[]) as m2:
        again = m2.get("req-1")
        assert again == got
        assert m2.get("missing") is None


def test_record_is_idempotent_per_request_id(monitor: PromptMonitor) -> None:
    monitor.record(make_log(1, 1.0))
    monitor.record(make_log(1, 3.0))
    assert monitor.count() == 1
    assert monitor.get("req-1").latency["total_s"] == 3.0  # type: ignore[union-attr]


def test_store_prompts_false_drops_prompt(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("monitoring.store_prompts=false")
    with PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[]) as m:
        m.record(make_log(1))
        assert m.get("req-1").prompt == ""  # type: ignore[union-attr]


def test_disabled_monitoring_stores_nothing(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("monitoring.enabled=false")
    with PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[]) as m:
        m.record(make_log(1))
        assert m.count() == 0


def test_many_threads_recording(monitor: PromptMonitor) -> None:
    def work(k: int) -> None:
        for j in range(10):
            monitor.record(make_log(k * 100 + j))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert monitor.count() == 80
    assert monitor.summary().requests == 80


def test_summary_percentiles_on_known_data(monitor: PromptMonitor) -> None:
    totals = [float(x) for x in range(1, 21)]
    for i, total in enumerate(totals):
        monitor.record(make_log(i, total, status="error" if i < 2 else "ok", content_type="post" if i % 2 else "tweet"))
    s = monitor.summary()
    assert (s.requests, s.errors, s.error_rate) == (20, 2, 0.1)
    expected = np.percentile(totals, [50, 95, 99])
    got = s.latency["total_s"]
    assert (got["p50"], got["p95"], got["p99"]) == pytest.approx(tuple(expected))
    assert s.latency["first_token_s"]["p95"] == pytest.approx(np.percentile([t / 4 for t in totals], 95))
    assert s.latency["generation_s"]["p95"] is None
    assert s.tokens == {"prompt": 200, "completion": 100, "total": 300}
    assert s.by_content_type == {"post": 10, "tweet": 10}
    assert s.by_endpoint["/v1/generate"]["requests"] == 20
    assert s.guardrails == {"pii:redact": 20}
    assert s.top_documents == [("d0", 10), ("d1", 10)]
    assert "total p50/p95/p99" in s.to_text() and "| requests | 20 |" in s.to_markdown()
    json.dumps(s.to_dict())


def test_summary_window(monitor: PromptMonitor) -> None:
    for i in range(10):
        monitor.record(make_log(i, ts=T0 + timedelta(minutes=i)))
    s = monitor.summary(since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=7))
    assert s.requests == 4 and "2025-03-01T12:03:00" in s.window
    assert monitor.summary().requests == 10


def test_empty_summary() -> None:
    s = Summary.of([], None, None)
    assert s.requests == 0 and s.error_rate == 0.0 and s.latency["total_s"]["p95"] is None
    assert "all time" in s.to_text()


def summary_of(totals: list[float], errors: int = 0) -> Summary:
    logs = [make_log(i, t, status="error" if i < errors else "ok") for i, t in enumerate(totals)]
    return Summary.of(logs, T0, T0 + timedelta(hours=1))


def test_alerts_cross_and_not_cross(
    make_settings: Callable[..., Any], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWIN_ALERT_WEBHOOK", raising=False)
    cfg = make_settings(
        "monitoring.alerts.latency_p95_s=2.0", "monitoring.alerts.error_rate=0.2", "monitoring.alerts.min_requests=5"
    )
    m = PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[])
    assert m.check_alerts(summary_of([1.0] * 10, errors=2)) == []  # p95 1.0 <= 2.0, error rate 0.2 not above
    with caplog.at_level(logging.WARNING, logger="twin.monitoring"):
        alerts = m.check_alerts(summary_of([1.0] * 8 + [5.0, 5.0], errors=3))
    assert [a.metric for a in alerts] == ["latency_p95_s", "error_rate"]
    assert alerts[1].value == pytest.approx(0.3) and alerts[1].threshold == 0.2
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 2 and all(line.startswith("alert ") for line in lines)
    assert "latency_p95_s=5 above threshold 2" in lines[0] and "2025-03-01T12:00:00" in lines[0]
    assert m.check_alerts(summary_of([9.0] * 4, errors=4)) == []  # below min_requests


class _Capture(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Capture.received.append({"body": json.loads(body), "type": self.headers["Content-Type"]})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Capture.received = []
    server = HTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_receives_alert(
    make_settings: Callable[..., Any], webhook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_HOOK", webhook)
    cfg = make_settings("monitoring.alerts.webhook_url_env=MY_HOOK", "monitoring.alerts.error_rate=0.1")
    m = PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[])
    alerts = m.check_alerts(summary_of([1.0] * 10, errors=5))
    assert [a.metric for a in alerts] == ["error_rate"]
    assert len(_Capture.received) == 1
    got = _Capture.received[0]
    assert got["type"] == "application/json"
    assert got["body"]["text"].startswith("alert error_rate=0.5")
    assert got["body"]["alert"]["metric"] == "error_rate" and got["body"]["alert"]["threshold"] == 0.1


def test_webhook_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="twin.monitoring"):
        assert post_webhook("http://127.0.0.1:9/nothing", {"text": "x"}, timeout=1) is False
    assert any("webhook failed" in r.getMessage() for r in caplog.records)


def test_failing_exporter_never_breaks_record(cfg: Any, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        name = "broken"

        def export(self, record: PromptLog) -> None:
            raise RuntimeError("down")

        def close(self) -> None:
            raise RuntimeError("down")

    with (
        caplog.at_level(logging.WARNING, logger="twin.monitoring"),
        PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[Broken()]) as m,
    ):
        m.record(make_log(1))
        assert m.get("req-1") is not None
    assert any("exporter broken failed" in r.getMessage() for r in caplog.records)


def test_alert_dict() -> None:
    a = Alert("error_rate", 0.5, 0.1, "w", 10)
    assert a.to_dict()["message"].startswith("alert error_rate=0.5 above threshold 0.1 over w")
