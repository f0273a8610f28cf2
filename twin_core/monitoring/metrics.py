"""Prometheus metrics of the API, in a registry of their own (``GET /metrics`` renders it)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

# Not the global registry: importing twice (tests, several apps in one process) never re-registers.
REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)

REQUESTS = Counter(
    "twin_api_requests", "API requests by endpoint and HTTP status.", ["endpoint", "status"], registry=REGISTRY
)
REQUEST_SECONDS = Histogram(
    "twin_api_request_seconds", "Request latency (seconds).", ["endpoint"], buckets=_LATENCY_BUCKETS, registry=REGISTRY
)
FIRST_TOKEN_SECONDS = Histogram(
    "twin_api_first_token_seconds", "Time to the first streamed token (seconds).", buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)  # fmt: skip
TOKENS = Counter("twin_api_tokens", "Tokens by kind (prompt, completion).", ["kind"], registry=REGISTRY)
GUARDRAIL_DECISIONS = Counter(
    "twin_guardrail_decisions", "Guardrail decisions by guard and action.", ["guard", "action"], registry=REGISTRY
)
RETRIEVAL_SECONDS = Histogram(
    "twin_retrieval_seconds", "Retrieval latency (seconds).", buckets=_LATENCY_BUCKETS, registry=REGISTRY
)


def observe_request(endpoint: str, status: int | str, seconds: float | None = None) -> None:
    """Count one request (``status``: the HTTP status) and its latency when known."""
    REQUESTS.labels(endpoint=endpoint, status=str(status)).inc()
    if seconds is not None and seconds >= 0:
        REQUEST_SECONDS.labels(endpoint=endpoint).observe(seconds)


def observe_first_token(seconds: float | None) -> None:
    if seconds is not None and seconds >= 0:
        FIRST_TOKEN_SECONDS.observe(seconds)


def observe_retrieval(seconds: float | None) -> None:
    if seconds is not None and seconds >= 0:
        RETRIEVAL_SECONDS.observe(seconds)


def observe_tokens(prompt: int, completion: int) -> None:
    if prompt > 0:
        TOKENS.labels(kind="prompt").inc(prompt)
    if completion > 0:
        TOKENS.labels(kind="completion").inc(completion)


def observe_guardrail(guard: str, action: str, count: int = 1) -> None:
    GUARDRAIL_DECISIONS.labels(guard=guard, action=action).inc(max(count, 1))


def render() -> tuple[bytes, str]:
    """The exposition text and its content type, for ``GET /metrics``."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
