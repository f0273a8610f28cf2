"""Where prompt logs go besides the warehouse: a W&B run (offline unless configured) and OpenTelemetry spans."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Protocol

from twin_core.monitoring.records import LATENCY_KEYS, PromptLog
from twin_core.monitoring.settings import MonitoringSettings

log = logging.getLogger("twin.monitoring")


class Exporter(Protocol):
    name: str

    def export(self, record: PromptLog) -> None: ...

    def close(self) -> None: ...


def _scalars(record: PromptLog) -> dict[str, float | int]:
    values: dict[str, float | int] = {f"latency/{k}": v for k, v in record.latency.items() if v is not None}
    values.update({f"usage/{k}": int(v) for k, v in record.usage.items()})
    values["http_status"] = record.http_status
    values["error"] = int(record.status == "error")
    values["retrieved"] = len(record.retrieved_ids)
    return values


def wandb_mode(env: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """``$WANDB_MODE`` if set; else online with ``$WANDB_API_KEY``, offline without (never a login prompt)."""
    return env.get("WANDB_MODE") or ("online" if env.get("WANDB_API_KEY") else "offline")


class WandbExporter:
    """One W&B run per process: every record logged as a step (scalars, plus a text table row)."""

    name = "wandb"

    def __init__(self, settings: MonitoringSettings, *, directory: str | None = None) -> None:
        self._settings = settings
        self._dir = directory or os.environ.get("WANDB_DIR")
        self._run: Any = None
        self._lock = threading.Lock()

    def _start(self) -> Any:
        import wandb

        if self._dir:
            os.makedirs(self._dir, exist_ok=True)
        self._run = wandb.init(
            project=self._settings.wandb_project,
            job_type="prompt-monitoring",
            dir=self._dir,
            mode=wandb_mode(),  # type: ignore[arg-type]
            reinit="create_new",
            settings=wandb.Settings(silent=True, console="off"),
        )
        return self._run

    def export(self, record: PromptLog) -> None:
        with self._lock:
            run = self._run or self._start()
            data: dict[str, Any] = dict(_scalars(record))
            data.update({"request_id": record.request_id, "endpoint": record.endpoint, "status": record.status})
            if self._settings.store_prompts:
                data.update({"query": record.query, "answer": record.answer})
            run.log(data)

    def close(self) -> None:
        with self._lock:
            if self._run is not None:
                self._run.finish()
                self._run = None


class OtelExporter:
    """One span per request (latencies, token counts, ids; the texts only when ``store_prompts``)."""

    name = "otel"

    def __init__(self, settings: MonitoringSettings, *, span_exporter: Any = None) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        self._settings = settings
        self._provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
        if span_exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # endpoint None: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or $OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces)
            span_exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint, timeout=5)
            self._provider.add_span_processor(BatchSpanProcessor(span_exporter))
        else:
            self._provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        self._tracer = self._provider.get_tracer("twin_core.monitoring")

    def export(self, record: PromptLog) -> None:
        from opentelemetry.trace import Status, StatusCode

        start_ns = int(record.ts.timestamp() * 1e9)
        total = record.latency.get("total_s") or 0.0
        attrs: dict[str, Any] = {
            "twin.request_id": record.request_id,
            "twin.endpoint": record.endpoint,
            "twin.status": record.status,
            "http.response.status_code": record.http_status,
            "twin.stream": record.stream,
            "twin.retrieved_ids": list(record.retrieved_ids),
            "twin.retrieved_count": len(record.retrieved_ids),
        }
        attrs.update({f"twin.latency.{k}": float(v) for k in LATENCY_KEYS if (v := record.latency.get(k)) is not None})
        attrs.update({f"twin.usage.{k}": int(v) for k, v in record.usage.items()})
        if record.content_type:
            attrs["twin.content_type"] = record.content_type
        if record.model:
            attrs["twin.model"] = record.model
        if record.error:
            attrs["twin.error"] = record.error
        if self._settings.store_prompts:
            attrs.update({"twin.query": record.query, "twin.prompt": record.prompt, "twin.answer": record.answer})
        span = self._tracer.start_span(f"twin {record.endpoint}", start_time=start_ns, attributes=attrs)
        if record.status == "error":
            span.set_status(Status(StatusCode.ERROR, record.error or "error"))
        span.end(end_time=start_ns + int(total * 1e9))

    def close(self) -> None:
        self._provider.shutdown()


def make_exporters(settings: MonitoringSettings) -> list[Exporter]:
    """The configured exporters; one that cannot start is logged and left out (requests never fail on it)."""
    made: list[Exporter] = []
    for name in settings.exporters:
        try:
            made.append(WandbExporter(settings) if name == "wandb" else OtelExporter(settings))
        except Exception as exc:
            log.warning("monitoring: exporter %s not started: %s", name, exc, extra={"exporter": name})
    return made
