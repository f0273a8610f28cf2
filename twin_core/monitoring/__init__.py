"""Prompt monitoring: request logs in the warehouse, summaries, alerts, exporters, Prometheus metrics."""
