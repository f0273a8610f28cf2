"""Body limits: 413 from Content-Length before reading, and while reading a chunked body; field limits too."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from twin_core.api.limits import BodyLimitMiddleware


def test_declared_oversized_body_is_413_before_reading(client: Any, model_server: Any) -> None:
    r = client.post("/v1/generate", content=b"x" * 5000, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "payload_too_large" and "2000" in r.json()["error"]["message"]
    assert model_server.prompts == []


def test_chunked_oversized_body_is_413_while_reading(client: Any, model_server: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(50):
            yield b"y" * 100
        yield b'"}'

    r = client.post("/v1/generate", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and model_server.prompts == []


def test_middleware_never_reads_past_the_declared_limit() -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append("app")

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        calls.append("receive")
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/generate", "headers": [(b"content-length", b"11")]}
    asyncio.run(BodyLimitMiddleware(app, 10)(scope, receive, send))
    assert calls == [] and sent[0]["status"] == 413


def test_small_body_passes(client: Any) -> None:
    assert client.post("/v1/generate", json={"query": "hello"}).status_code == 200


def test_query_and_field_limits_are_413_naming_the_field(client: Any, model_server: Any) -> None:
    r = client.post("/v1/generate", json={"query": "q" * 101})
    assert r.status_code == 413 and r.json()["error"]["field"] == "query"
    r = client.post("/v1/generate", json={"query": "q", "k": 1000})
    assert r.status_code == 413 and r.json()["error"]["field"] == "k"
    r = client.post("/v1/generate", json={"query": "q", "max_tokens": 100_000})
    assert r.status_code == 413 and r.json()["error"]["field"] == "max_tokens"
    many = [{"role": "user", "content": "x"}] * 40
    r = client.post("/v1/chat/completions", json={"messages": many})
    assert r.status_code == 413 and r.json()["error"]["field"] == "messages"
    assert model_server.prompts == []
