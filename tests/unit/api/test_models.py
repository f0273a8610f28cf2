"""OpenAI request/response models and SSE framing."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from twin_core.api import sse
from twin_core.api.models import ChatCompletionRequest, GenerateRequest, chat_chunk


def test_openai_request_with_extra_parameters_and_content_parts() -> None:
    req = ChatCompletionRequest.model_validate(
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "be nice"},
                {"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "text", "text": "two"}]},
            ],
            "stream": True,
            "presence_penalty": 0.1,
            "stream_options": {"include_usage": True},
            "n": 1,
        }
    )
    assert req.stream and req.messages[-1].text() == "part one\ntwo"
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate({"messages": [{"role": "user", "content": "x"}], "n": 2})
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate({"messages": []})


def test_generate_request_is_strict() -> None:
    with pytest.raises(ValidationError):
        GenerateRequest.model_validate({"query": "x", "unknown": 1})
    req = GenerateRequest.model_validate({"query": "x", "filters": {"platform": "medium"}})
    assert req.filters is not None and req.filters.platform == "medium"


def test_chat_chunk_shape() -> None:
    chunk = chat_chunk("id1", "twin", 1, {"content": "hi"})
    assert chunk["object"] == "chat.completion.chunk"
    assert chunk["choices"] == [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]
    assert chat_chunk("id1", "twin", 1, {}, "stop", sources=[])["sources"] == []


def test_sse_round_trip() -> None:
    text = (sse.event({"text": "a\nb"}, "delta") + sse.event({"x": 1}) + sse.DONE).decode()
    events = sse.parse(text)
    assert events[0] == ("delta", json.dumps({"text": "a\nb"}, separators=(",", ":")))
    assert events[1][0] == "message" and events[2] == ("message", "[DONE]")
