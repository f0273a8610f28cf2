"""The OpenAI-compatible client against a scripted local server that sometimes answers malformed JSON or 503."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from typing import Any

import pytest
from pydantic import BaseModel, Field

from twin_core.llm import LLMSettings, make_client
from twin_core.llm.fake_server import ScriptedChatServer, first_user_message

pytestmark = pytest.mark.integration
KEY = "sk-local-test-key-never-logged"


class Topics(BaseModel):
    topics: list[str] = Field(min_length=1)


def _item(body: dict[str, Any]) -> int:
    return int(re.match(r"item (\d+)", first_user_message(body)).group(1))  # type: ignore[union-attr]


def script(body: dict[str, Any], seen: int) -> tuple[int, str]:
    """Item i: i % 4 == 0 never valid; 1: truncated JSON first; 2: HTTP 503 first; 3: JSON in a chatty fence."""
    i = _item(body)
    good = json.dumps({"topics": [f"topic {i}"]})
    if i % 4 == 0:
        return 200, "Happy to help! The topics are pipelines and on-call."
    if i % 4 == 1 and seen == 0:
        return 200, '{"topics": ["topic'
    if i % 4 == 2 and seen == 0:
        return 503, "overloaded"
    return 200, f"Here you go:\n```json\n{good}\n```"


def test_good_samples_kept_bad_ones_recorded_and_retries_observed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TWIN_TEST_LLM_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    with ScriptedChatServer(script) as server:
        settings = LLMSettings(
            provider="openai", model="scripted", base_url=server.url, api_key_env="TWIN_TEST_LLM_KEY",
            max_retries=2, backoff_s=0.01, concurrency=4, requests_per_s=200.0, json_mode=True,
        )  # fmt: skip
        client = make_client(settings)
        items = [{"id": f"item-{i}", "text": f"item {i}"} for i in range(12)]
        results, failures = client.map_structured(items, lambda it: [{"role": "user", "content": it["text"]}], Topics)
        client.close()
    assert [it["id"] for it, _ in results] == [f"item-{i}" for i in range(12) if i % 4]
    assert all(out.topics == [f"topic {it['id'].split('-')[1]}"] for it, out in results)
    assert [f.item_id for f in failures] == ["item-0", "item-4", "item-8"]
    for failure in failures:
        assert failure.attempts == 3
        assert "no valid Topics after 3 attempts: no JSON object in the answer" in failure.error
        assert failure.raw_excerpt == "Happy to help! The topics are pipelines and on-call."
    per_item = Counter(_item(r["body"]) for r in server.requests)
    assert (per_item[0], per_item[1], per_item[2], per_item[3]) == (3, 2, 2, 1)  # retries: JSON, JSON, HTTP 503
    assert sum(per_item.values()) == 3 * 3 + 3 * 2 + 3 * 2 + 3
    retry = next(r for r in server.requests if _item(r["body"]) == 1 and len(r["body"]["messages"]) == 3)
    assert retry["body"]["messages"][1]["content"] == '{"topics": ["topic'
    assert all(r["auth"] == f"Bearer {KEY}" for r in server.requests)
    assert all(r["body"]["response_format"] == {"type": "json_object"} for r in server.requests)
    assert KEY not in caplog.text
