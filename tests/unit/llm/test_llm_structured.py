"""JSON extraction from chatty answers, schema validation, per-sample retries and failure records, bounded fan-out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from pydantic import BaseModel, Field

from twin_core.llm import BaseLLMClient, LLMError, LLMSettings, StructuredOutputError, extract_json, parse_structured
from twin_core.llm.client import GenParams


class Topics(BaseModel):
    topics: list[str] = Field(min_length=1)


class Score(BaseModel):
    score: int = Field(ge=1, le=5)
    reason: str = ""


class ScriptedClient(BaseLLMClient):
    """Answers from ``script(messages, call_number)``; records every call."""

    def __init__(self, script: Callable[[list[dict[str, str]], int], str], **settings: object) -> None:
        self.slept: list[float] = []
        super().__init__(LLMSettings(provider="transformers", model="scripted", **settings), sleep=self.slept.append)
        self.script, self.calls = script, []

    def _complete(self, messages: list[dict[str, str]], params: GenParams) -> str:
        self.calls.append(messages)
        return self.script(messages, len(self.calls))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"score": 4, "reason": "ok"}', {"score": 4, "reason": "ok"}),
        ('Sure! Here it is:\n```json\n{"score": 3}\n```\nHope that helps.', {"score": 3}),
        (
            'I think {"score": 5, "reason": "uses {braces} and \\"quotes\\""} is fair.',
            {"score": 5, "reason": 'uses {braces} and "quotes"'},
        ),
        ('{"topics": ["a", "b",],}', {"topics": ["a", "b"]}),
        ('The list: ["x", "y"] done', ["x", "y"]),
        ('Thoughts {not json} then {"score": 2}', {"score": 2}),
    ],
)
def test_extract_json_finds_the_object_in_chatty_answers(answer: str, expected: object) -> None:
    assert extract_json(answer) == expected


def test_extract_json_without_json_raises_with_an_excerpt() -> None:
    with pytest.raises(ValueError, match="no JSON object in the answer: 'Sorry, I cannot"):
        extract_json("Sorry, I cannot help with that.")


def test_parse_structured_wraps_a_bare_list_and_names_invalid_fields() -> None:
    assert parse_structured('["rag", "evals"]', Topics) == Topics(topics=["rag", "evals"])
    with pytest.raises(ValueError, match=r"does not match Score: score: Input should be less than or equal to 5"):
        parse_structured('{"score": 9}', Score)


def test_complete_json_retries_an_invalid_answer_and_shows_the_error() -> None:
    client = ScriptedClient(lambda m, n: '{"score": 7}' if n == 1 else 'fine: {"score": 4, "reason": "clear"}')
    assert client.complete_json([{"role": "user", "content": "Rate it"}], Score) == Score(score=4, reason="clear")
    assert len(client.calls) == 2
    first, retry = client.calls
    assert "JSON schema" in first[-1]["content"]
    assert retry[-2] == {"role": "assistant", "content": '{"score": 7}'}
    assert "less than or equal to 5" in retry[-1]["content"]


def test_complete_json_gives_up_after_max_retries_with_the_raw_answer() -> None:
    client = ScriptedClient(lambda m, n: f"no json here, attempt {n}", max_retries=2)
    with pytest.raises(StructuredOutputError) as err:
        client.complete_json([{"role": "user", "content": "Rate it"}], Score)
    assert err.value.attempts == 3
    assert err.value.raw == "no json here, attempt 3"
    assert len(client.calls) == 3


def test_map_structured_keeps_good_items_and_records_each_failure() -> None:
    def script(messages: list[dict[str, str]], n: int) -> str:
        item = messages[0]["content"].split("\n")[0]
        return "I'd rather chat." if item == "item-2" else f'{{"score": {int(item[-1]) % 5 + 1}}}'

    client = ScriptedClient(script, max_retries=1, concurrency=3)
    items = [{"id": f"item-{i}"} for i in range(6)]
    results, failures = client.map_structured(items, lambda it: [{"role": "user", "content": it["id"]}], Score)
    assert [it["id"] for it, _ in results] == ["item-0", "item-1", "item-3", "item-4", "item-5"]
    assert [r.score for _, r in results] == [1, 2, 4, 5, 1]
    assert len(failures) == 1
    failure = failures[0]
    assert (failure.item_id, failure.attempts) == ("item-2", 2)
    assert failure.error.startswith("StructuredOutputError: no valid Score after 2 attempts")
    assert failure.raw_excerpt == "I'd rather chat."


def test_map_structured_runs_at_most_concurrency_requests_at_once() -> None:
    active, peak, lock = [0], [0], threading.Lock()

    def script(messages: list[dict[str, str]], n: int) -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return '{"score": 3}'

    client = ScriptedClient(script, concurrency=2)
    results, failures = client.map_structured(list(range(8)), lambda i: [{"role": "user", "content": str(i)}], Score)
    assert len(results) == 8 and not failures
    assert peak[0] == 2


def test_transient_errors_are_retried_with_backoff_and_permanent_ones_are_not() -> None:
    def flaky(messages: list[dict[str, str]], n: int) -> str:
        if n <= 2:
            raise LLMError("HTTP 503", retryable=True, status=503)
        return "ok"

    client = ScriptedClient(flaky, max_retries=3, backoff_s=0.5)
    assert client.complete([{"role": "user", "content": "hi"}]) == "ok"
    assert client.slept == [0.5, 1.0]

    def broken(messages: list[dict[str, str]], n: int) -> str:
        raise LLMError("HTTP 400: context too long", status=400)

    client = ScriptedClient(broken, max_retries=3)
    results, failures = client.map_text([{"id": "a"}], lambda it: [{"role": "user", "content": "x"}])
    assert results == [] and len(client.calls) == 1
    assert failures[0].error == "LLMError: HTTP 400: context too long"
