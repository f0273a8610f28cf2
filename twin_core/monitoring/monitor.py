"""PromptMonitor: request logs in the warehouse, summaries over a time window, alerts on thresholds."""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from twin_core.monitoring import metrics
from twin_core.monitoring.exporters import Exporter, make_exporters
from twin_core.monitoring.records import LATENCY_KEYS, PromptLog
from twin_core.monitoring.settings import MonitoringSettings

if TYPE_CHECKING:
    from twin_core.warehouse.repository import Warehouse
    from twin_core.warehouse.settings import WarehouseSettings

log = logging.getLogger("twin.monitoring")

WEBHOOK_TIMEOUT_S = 5.0


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 (numpy, linear interpolation), mean and max; None for each when there are no values."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    arr = np.asarray(values, dtype=float)
    p50, p95, p99 = (float(x) for x in np.percentile(arr, [50, 95, 99]))
    return {"p50": p50, "p95": p95, "p99": p99, "mean": float(arr.mean()), "max": float(arr.max())}


@dataclass
class Summary:
    """Requests in ``[since, until)``: counts, error rate, latency percentiles, tokens, breakdowns."""

    since: datetime | None
    until: datetime | None
    requests: int = 0
    errors: int = 0
    error_rate: float = 0.0
    latency: dict[str, dict[str, float | None]] = field(default_factory=dict)  # key -> p50/p95/p99/mean/max
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0, "total": 0})
    by_endpoint: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_content_type: dict[str, int] = field(default_factory=dict)
    by_http_status: dict[str, int] = field(default_factory=dict)
    guardrails: dict[str, int] = field(default_factory=dict)  # "guard:action" -> count
    top_documents: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def of(cls, logs: Sequence[PromptLog], since: datetime | None, until: datetime | None, top: int = 10) -> Summary:
        s = cls(since=since, until=until, requests=len(logs))
        s.errors = sum(1 for r in logs if r.status == "error")
        s.error_rate = s.errors / s.requests if s.requests else 0.0
        for key in LATENCY_KEYS:
            s.latency[key] = percentiles([v for r in logs if (v := r.latency.get(key)) is not None])
        prompt = sum(int(r.usage.get("prompt_tokens", 0)) for r in logs)
        completion = sum(int(r.usage.get("completion_tokens", 0)) for r in logs)
        s.tokens = {"prompt": prompt, "completion": completion, "total": prompt + completion}
        for endpoint in sorted({r.endpoint for r in logs}):
            group = [r for r in logs if r.endpoint == endpoint]
            totals = [v for r in group if (v := r.total_s) is not None]
            s.by_endpoint[endpoint] = {
                "requests": len(group),
                "errors": sum(1 for r in group if r.status == "error"),
                "p95_s": percentiles(totals)["p95"],
            }
        s.by_content_type = dict(sorted(Counter(r.content_type or "-" for r in logs).items()))
        s.by_http_status = dict(sorted(Counter(str(r.http_status) for r in logs).items()))
        decisions: Counter[str] = Counter()
        for r in logs:
            for d in r.guardrails:
                decisions[f"{d.get('guard', '?')}:{d.get('action', '?')}"] += int(d.get("count", 1) or 1)
        s.guardrails = dict(sorted(decisions.items()))
        docs = Counter(doc for r in logs for doc in dict.fromkeys(r.document_ids))
        s.top_documents = sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return s

    @property
    def window(self) -> str:
        if self.since is None and self.until is None:
            return "all time"
        since = self.since.isoformat(timespec="seconds") if self.since else "start"
        until = self.until.isoformat(timespec="seconds") if self.until else "now"
        return f"{since} .. {until}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = self.since.isoformat() if self.since else None
        data["until"] = self.until.isoformat() if self.until else None
        data["top_documents"] = [{"document_id": d, "count": n} for d, n in self.top_documents]
        return data

    def _rows(self) -> list[tuple[str, str]]:
        def sec(v: float | None) -> str:
            return "-" if v is None else f"{v:.3f}s"

        rows = [
            ("window", self.window),
            ("requests", str(self.requests)),
            ("errors", f"{self.errors} ({self.error_rate:.1%})"),
        ]
        for key in ("total_s", "first_token_s", "retrieval_s", "generation_s"):
            p = self.latency.get(key) or {}
            values = " / ".join(sec(p.get(q)) for q in ("p50", "p95", "p99"))
            rows.append((key.removesuffix("_s") + " p50/p95/p99", values))
        rows.append(("tokens prompt/completion", f"{self.tokens['prompt']} / {self.tokens['completion']}"))
        for endpoint, e in self.by_endpoint.items():
            value = f"{e['requests']} requests, {e['errors']} errors, p95 {sec(e['p95_s'])}"
            rows.append((f"endpoint {endpoint}", value))
        if self.by_content_type:
            rows.append(("content types", ", ".join(f"{k}={v}" for k, v in self.by_content_type.items())))
        if self.guardrails:
            rows.append(("guardrails", ", ".join(f"{k}={v}" for k, v in self.guardrails.items())))
        if self.top_documents:
            rows.append(("top documents", ", ".join(f"{d} ({n})" for d, n in self.top_documents[:5])))
        return rows

    def to_text(self) -> str:
        """A compact two-column table for the terminal."""
        rows = self._rows()
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)

    def to_markdown(self) -> str:
        lines = ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in self._rows()]
        return "\n".join(lines)


@dataclass(frozen=True)
class Alert:
    """A threshold crossed over a window."""

    metric: str  # "latency_p95_s" | "error_rate"
    value: float
    threshold: float
    window: str
    requests: int

    @property
    def message(self) -> str:
        return (
            f"alert {self.metric}={self.value:.4g} above threshold {self.threshold:.4g} "
            f"over {self.window} ({self.requests} requests)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


def post_webhook(url: str, payload: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT_S) -> bool:
    """POST ``payload`` as JSON; failures are logged, never raised."""
    try:
        req = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "llm-twin-monitor"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
        return True
    except Exception as exc:
        log.warning("monitoring: alert webhook failed: %s", exc, extra={"error": type(exc).__name__})
        return False


class PromptMonitor:
    """Stores every request's :class:`PromptLog`, summarises them and raises alerts; safe across threads."""

    def __init__(
        self,
        settings: MonitoringSettings,
        warehouse_settings: WarehouseSettings,
        *,
        exporters: Sequence[Exporter] | None = None,
    ) -> None:
        self.settings = settings
        self._warehouse_settings = warehouse_settings
        self._warehouse: Warehouse | None = None
        self._lock = threading.RLock()  # montydb is not safe for concurrent writers: one warehouse call at a time
        self._exporters: list[Exporter] | None = list(exporters) if exporters is not None else None

    @property
    def warehouse(self) -> Warehouse:
        with self._lock:
            if self._warehouse is None:
                from twin_core.warehouse.repository import connect

                self._warehouse = connect(self._warehouse_settings)
            return self._warehouse

    @property
    def exporters(self) -> list[Exporter]:
        with self._lock:
            if self._exporters is None:
                self._exporters = make_exporters(self.settings) if self.settings.enabled else []
            return self._exporters

    def record(self, record: PromptLog) -> None:
        """Prometheus, then the warehouse (by request_id), then the exporters; failures are logged, never raised."""
        try:
            metrics.observe_request(record.endpoint, record.http_status, record.latency.get("total_s"))
            metrics.observe_first_token(record.latency.get("first_token_s"))
            metrics.observe_retrieval(record.latency.get("retrieval_s"))
            usage = record.usage
            metrics.observe_tokens(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))
        except Exception as exc:
            log.warning("monitoring: metrics failed: %s", exc)
        if not self.settings.enabled:
            return
        if not self.settings.store_prompts:
            record = record.model_copy(update={"prompt": ""})
        try:
            doc = record.model_dump(mode="python")
            with self._lock:
                self.warehouse.put(self.settings.collection, record.request_id, doc)
        except Exception as exc:
            log.error("monitoring: storing prompt log failed: %s", exc, extra={"request_id": record.request_id})
        for exporter in self.exporters:
            try:
                exporter.export(record)
            except Exception as exc:
                log.warning(
                    "monitoring: exporter %s failed: %s",
                    exporter.name,
                    exc,
                    extra={"exporter": exporter.name, "request_id": record.request_id},
                )

    def get(self, request_id: str) -> PromptLog | None:
        with self._lock:
            doc = self.warehouse.get(self.settings.collection, request_id)
        return PromptLog.model_validate(doc) if doc else None

    def logs(self, since: datetime | None = None, until: datetime | None = None) -> list[PromptLog]:
        """The stored logs with ``since <= ts < until``, oldest first."""
        query: dict[str, Any] = {}
        if since is not None:
            query.setdefault("ts", {})["$gte"] = since
        if until is not None:
            query.setdefault("ts", {})["$lt"] = until
        with self._lock:
            docs = self.warehouse.find(self.settings.collection, query or None, sort=[("ts", 1), ("_id", 1)])
        return [PromptLog.model_validate(d) for d in docs]

    def count(self) -> int:
        with self._lock:
            return self.warehouse.count(self.settings.collection)

    def summary(self, since: datetime | None = None, until: datetime | None = None) -> Summary:
        return Summary.of(self.logs(since, until), since, until)

    def window_summary(self, now: datetime | None = None) -> Summary:
        """The summary over the last ``alerts.window_minutes``."""
        until = now or datetime.now(UTC)
        return self.summary(until - timedelta(minutes=self.settings.alerts.window_minutes), until)

    def check_alerts(self, summary: Summary) -> list[Alert]:
        """Alerts for thresholds crossed in ``summary`` (none below ``alerts.min_requests``): logged and posted."""
        cfg = self.settings.alerts
        if summary.requests < cfg.min_requests:
            log.debug("monitoring: %d requests < min_requests %d: no alert check", summary.requests, cfg.min_requests)
            return []
        alerts: list[Alert] = []
        p95 = (summary.latency.get("total_s") or {}).get("p95")
        if p95 is not None and p95 > cfg.latency_p95_s:
            alerts.append(Alert("latency_p95_s", p95, cfg.latency_p95_s, summary.window, summary.requests))
        if summary.error_rate > cfg.error_rate:
            alerts.append(Alert("error_rate", summary.error_rate, cfg.error_rate, summary.window, summary.requests))
        url = os.environ.get(cfg.webhook_url_env) if cfg.webhook_url_env else None
        for alert in alerts:
            log.warning(
                "%s",
                alert.message,
                extra={
                    "metric": alert.metric,
                    "value": alert.value,
                    "threshold": alert.threshold,
                    "window": alert.window,
                },
            )
            if url:
                post_webhook(url, {"text": alert.message, "alert": alert.to_dict()})
        return alerts

    def close(self) -> None:
        with self._lock:
            for exporter in self._exporters or []:
                try:
                    exporter.close()
                except Exception as exc:
                    log.warning("monitoring: closing exporter %s failed: %s", exporter.name, exc)
            self._exporters = None if self._exporters is None else []
            if self._warehouse is not None:
                self._warehouse.close()
                self._warehouse = None

    def __enter__(self) -> PromptMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
