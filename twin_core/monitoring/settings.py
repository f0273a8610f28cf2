"""Prompt monitoring: what each request leaves in the warehouse, where it is exported, when it alerts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twin_core.config.base import Settings


class AlertSettings(Settings):
    """Thresholds over the last ``window_minutes`` of requests; crossing one logs an alert (and posts a webhook)."""

    window_minutes: int = Field(default=60, gt=0)
    min_requests: int = Field(default=5, ge=1, description="No alert on fewer requests than this in the window.")
    latency_p95_s: float = Field(default=10.0, gt=0)
    error_rate: float = Field(default=0.05, ge=0, le=1)
    webhook_url_env: str | None = Field(
        default="TWIN_ALERT_WEBHOOK", description="Env var with a webhook URL (Slack-style JSON POST); unset: log only."
    )


class MonitoringSettings(Settings):
    """Prompt monitoring of the API."""

    enabled: bool = True
    collection: str = Field(default="prompt_logs", pattern=r"^[a-z][a-z0-9_]*$")
    store_prompts: bool = Field(default=True, description="Keep the full prompt (after guardrail redaction).")
    exporters: list[Literal["wandb", "otel"]] = Field(default_factory=list)
    wandb_project: str = "llm-twin-prompts"
    otel_endpoint: str | None = Field(default=None, description="OTLP/HTTP URL; None: $OTEL_EXPORTER_OTLP_ENDPOINT.")
    otel_service_name: str = "llm-twin-api"
    alerts: AlertSettings = AlertSettings()
