"""The ``monitor`` step: summarise recent requests, check the alert thresholds, write a JSON + Markdown report."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from twin_core.domain.results import StepResult
from twin_core.monitoring.monitor import PromptMonitor

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings


def run_monitor(cfg: TwinSettings) -> StepResult:
    """Summary over the last ``monitoring.alerts.window_minutes`` (and all-time counts), alerts, report files."""
    now = datetime.now(UTC)
    with PromptMonitor(cfg.monitoring, cfg.warehouse, exporters=[]) as monitor:
        window = monitor.window_summary(now)
        overall = monitor.summary(until=now)
        alerts = monitor.check_alerts(window)
    out_dir = cfg.paths.reports_dir / "monitoring"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    report = {
        "generated_at": now.isoformat(),
        "collection": cfg.monitoring.collection,
        "window_minutes": cfg.monitoring.alerts.window_minutes,
        "thresholds": cfg.monitoring.alerts.model_dump(mode="json"),
        "window": window.to_dict(),
        "all_time": {"requests": overall.requests, "errors": overall.errors, "error_rate": overall.error_rate},
        "alerts": [a.to_dict() for a in alerts],
    }
    json_path, md_path = out_dir / f"monitor-{stamp}.json", out_dir / f"monitor-{stamp}.md"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    md = [
        f"# Prompt monitoring, {now.isoformat(timespec='seconds')}",
        "",
        f"Last {cfg.monitoring.alerts.window_minutes} minutes:",
        "",
        window.to_markdown(),
        "",
        f"All time: {overall.requests} requests, {overall.errors} errors.",
        "",
        "## Alerts",
        "",
        *([f"- {a.message}" for a in alerts] or ["None."]),
        "",
    ]
    md_path.write_text("\n".join(md))
    lines = [window.to_text(), f"all time: {overall.requests} requests, {overall.errors} errors"]
    lines += [a.message for a in alerts] or ["no alerts"]
    print("\n".join(lines), file=sys.stderr)
    p = window.latency.get("total_s") or {}
    ft = window.latency.get("first_token_s") or {}
    metric_values = {
        "error_rate": window.error_rate,
        "latency_p50_s": p.get("p50"),
        "latency_p95_s": p.get("p95"),
        "latency_p99_s": p.get("p99"),
        "first_token_p95_s": ft.get("p95"),
    }
    return StepResult(
        step="monitor",
        ok=True,
        message=(
            f"{len(alerts)} alert(s): " + "; ".join(a.message for a in alerts)
            if alerts
            else f"{window.requests} requests in the last {cfg.monitoring.alerts.window_minutes} min, no alerts"
        ),
        counts={
            "requests_window": window.requests,
            "errors_window": window.errors,
            "requests_total": overall.requests,
            "errors_total": overall.errors,
            "alerts": len(alerts),
        },
        metrics={k: float(v) for k, v in metric_values.items() if v is not None},
        artifacts={"report": str(json_path), "report_md": str(md_path)},
        details={"alerts": [a.to_dict() for a in alerts]},
    )
