"""The OpenAI-compatible client: request body, key from the environment (never logged), retries by status."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from pydantic import BaseModel

from twin_core.llm import LLMError, LLMSettings, make_client
from twin_core.llm.openai_client import OpenAIClient

SECRET = "sk-test-do-not-log-0123456789"


class Verdict(BaseModel):
    score: int


def _client(handler, monkeypatch: pytest.MonkeyPatch, **settings: object) -> tuple[OpenAIClient, list[float]]:
    monkeypatch.setenv("TWIN_TEST_LLM_KEY", SECRET)
    slept: list[float] = []
    s = LLMSettings(
        provider="openai", model="m-1", base_url="http://llm.test/v1/", api_key_env="TWIN_TEST_LLM_KEY", **settings
    )
    return OpenAIClient(s, transport=httpx.MockTransport(handler), sleep=slept.append), slept


def _ok(text: str) -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": text}}]})


def test_request_body_headers_and_json_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _ok('{"score": 5}')

    client, _ = _client(handler, monkeypatch, json_mode=True, max_tokens=77, temperature=0.2, seed=7)
    assert client.complete_json([{"role": "user", "content": "Rate"}], Verdict) == Verdict(score=5)
    request = seen[0]
    assert str(request.url) == "http://llm.test/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    body = json.loads(request.content)
    assert body["model"] == "m-1" and body["max_tokens"] == 77 and body["temperature"] == 0.2 and body["seed"] == 7
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0]["content"].startswith("Rate\n\nAnswer with one JSON object only")
    client.complete([{"role": "user", "content": "free text"}], stop=["\n\n"])
    assert "response_format" not in json.loads(seen[1].content)
    assert json.loads(seen[1].content)["stop"] == ["\n\n"]


def test_503_and_429_are_retried_honouring_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(
        [httpx.Response(503, text="overloaded"), httpx.Response(429, headers={"retry-after": "2"}), _ok("done")]
    )
    client, slept = _client(lambda r: next(answers), monkeypatch, backoff_s=0.25)
    assert client.complete([{"role": "user", "content": "hi"}]) == "done"
    assert slept == [0.25, 2.0]


def test_client_errors_fail_at_once_without_the_key_in_message_or_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json={"error": {"message": "invalid api key"}})

    caplog.set_level(logging.DEBUG)
    client, _ = _client(handler, monkeypatch)
    with pytest.raises(LLMError, match="answered HTTP 401") as err:
        client.complete([{"role": "user", "content": "hi"}])
    assert len(calls) == 1 and err.value.status == 401 and not err.value.retryable
    assert SECRET not in str(err.value) and SECRET not in caplog.text


def test_connection_failures_retry_then_raise_and_bad_payloads_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client, slept = _client(refuse, monkeypatch, max_retries=2, backoff_s=0.1)
    with pytest.raises(LLMError, match="unreachable: ConnectError"):
        client.complete([{"role": "user", "content": "hi"}])
    assert slept == [0.1, 0.2]
    client, _ = _client(lambda r: httpx.Response(200, json={"nope": 1}), monkeypatch)
    with pytest.raises(LLMError, match="sent no chat completion"):
        client.complete([{"role": "user", "content": "hi"}])


def test_missing_key_warns_by_name_and_make_client_dispatches(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("TWIN_TEST_ABSENT_KEY", raising=False)
    s = LLMSettings(provider="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key_env="TWIN_TEST_ABSENT_KEY")
    with caplog.at_level(logging.WARNING, logger="twin.llm"):
        client = make_client(s)
    assert isinstance(client, OpenAIClient)
    assert "$TWIN_TEST_ABSENT_KEY is not set" in caplog.text
    client.close()
