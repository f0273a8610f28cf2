"""Prometheus metrics: a registry of their own, rendered in the exposition format."""

from __future__ import annotations

from prometheus_client import REGISTRY as GLOBAL_REGISTRY

from twin_core.monitoring import metrics


def test_render_has_every_metric() -> None:
    metrics.observe_request("/v1/generate", 200, 0.42)
    metrics.observe_request("/v1/generate", 503)
    metrics.observe_first_token(0.1)
    metrics.observe_retrieval(0.05)
    metrics.observe_tokens(120, 30)
    metrics.observe_guardrail("pii", "redact", 2)
    body, content_type = metrics.render()
    text = body.decode()
    assert content_type.startswith("text/plain")
    assert 'twin_api_requests_total{endpoint="/v1/generate",status="200"}' in text
    assert 'twin_api_requests_total{endpoint="/v1/generate",status="503"}' in text
    assert 'twin_api_request_seconds_bucket{endpoint="/v1/generate",le="0.5"}' in text
    assert "twin_api_first_token_seconds_count" in text
    assert 'twin_api_tokens_total{kind="prompt"}' in text and 'twin_api_tokens_total{kind="completion"}' in text
    assert 'twin_guardrail_decisions_total{action="redact",guard="pii"}' in text
    assert "twin_retrieval_seconds_sum" in text


def test_counts_increase() -> None:
    c = metrics.TOKENS.labels(kind="completion")
    before = c._value.get()
    metrics.observe_tokens(0, 7)
    assert c._value.get() == before + 7


def test_own_registry_not_the_global_one() -> None:
    assert metrics.REGISTRY is not GLOBAL_REGISTRY
    assert GLOBAL_REGISTRY.get_sample_value("twin_api_requests_total", {"endpoint": "x", "status": "200"}) is None
