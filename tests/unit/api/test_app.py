"""Routes on the real RAG service and prompt monitor (model server scripted): answers, streams, OpenAI format,
feedback, sources, recording, request ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from twin_core.api import sse

ONCALL = "How should on-call alerts page people?"


def test_generate_returns_answer_sources_timings_usage(client: Any, model_server: Any, author: Any) -> None:
    r = client.post("/v1/generate", json={"query": ONCALL, "filters": {"author": author.full_name}, "k": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] == model_server.answer and body["content_type"] == "answer"
    assert body["request_id"] == r.headers["X-Request-ID"]
    sources = body["sources"]
    assert len(sources) == 2 and {s["author_name"] for s in sources} == {author.full_name}
    assert sources[0]["document_id"] == "oncall" and sources[0]["link"] == "https://substack.example.org/oncall"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert {"retrieval_s", "generation_s", "total_s"} <= set(body["timings"])
    prompt = model_server.prompts[-1]  # what the model server was asked: the question and the sources' text
    assert ONCALL in prompt and all(s["snippet"] in prompt for s in sources)


def test_generate_stream_events(client: Any, model_server: Any) -> None:
    r = client.post("/v1/generate", json={"query": ONCALL, "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse.parse(r.text)
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["start", "sources"] and kinds[-1] == "done" and set(kinds[2:-1]) == {"delta"}
    pieces = "".join(json.loads(d)["text"] for k, d in events if k == "delta")
    done = json.loads(events[-1][1])
    assert pieces == done["answer"] == model_server.answer and done["request_id"] == r.headers["X-Request-ID"]
    assert [s["chunk_id"] for s in json.loads(events[1][1])] == [s["chunk_id"] for s in done["sources"]]


def test_chat_completions_json_and_stream(client: Any, model_server: Any) -> None:
    messages = [
        {"role": "system", "content": "Be terse, says the client."},
        {"role": "user", "content": "Who wakes up at night?"},
        {"role": "assistant", "content": "Whoever holds the pager."},
        {"role": "user", "content": ONCALL},
    ]
    r = client.post("/v1/chat/completions", json={"model": "anything", "messages": messages})
    body = r.json()
    assert r.status_code == 200 and body["object"] == "chat.completion" and body["model"] == "anything"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": model_server.answer}
    assert body["usage"]["total_tokens"] > 0 and body["sources"]
    prompt = model_server.prompts[-1]  # the earlier turns as history, the last one as the question
    assert prompt.index("Who wakes up at night?") < prompt.index("Whoever holds the pager.") < prompt.index(ONCALL)
    assert "Be terse" not in prompt

    r = client.post("/v1/chat/completions", json={"messages": messages, "stream": True})
    events = sse.parse(r.text)
    assert events[-1] == ("message", "[DONE]")
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == model_server.answer
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["sources"] == body["sources"]


def test_chat_needs_a_last_user_message(client: Any) -> None:
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "x"}]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "messages"


def test_models_and_health(client: Any, model_server: Any) -> None:
    assert client.get("/v1/models").json()["data"][0]["id"] == "twin_llm"
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_server"] == {"status": "ok", "model": "twin_llm", "ready": True}
    assert health["content_types"][0]["name"] == "answer"
    model_server.go_down()
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "degraded"


def test_every_v1_request_is_recorded_with_its_request_id(client: Any, monitor: Any, model_server: Any) -> None:
    ok = client.post("/v1/generate", json={"query": ONCALL})
    bad = client.post("/v1/generate", json={"query": ONCALL}, headers={"Authorization": "Bearer nope"})
    log = monitor.get(ok.headers["X-Request-ID"])
    assert log.status == "ok" and log.endpoint == "/v1/generate"
    assert log.query == ONCALL and log.answer == model_server.answer
    assert log.retrieved_ids == [s["chunk_id"] for s in ok.json()["sources"]] and log.prompt
    assert log.latency["total_s"] > 0 and log.usage == {k: ok.json()["usage"][k] for k in log.usage}
    refused = monitor.get(bad.headers["X-Request-ID"])
    assert refused.status == "error" and refused.http_status == 401
    client.get("/health")
    assert 'twin_api_requests_total{endpoint="/health",status="200"}' in client.get("/metrics").text
    summary = client.get("/v1/monitoring/summary").json()
    assert summary["requests"] == 2 and summary["errors"] == 1 and summary["by_http_status"] == {"200": 1, "401": 1}


def test_incoming_request_id_is_kept_when_sane(client: Any) -> None:
    r = client.get("/health", headers={"X-Request-ID": "trace-12345678"})
    assert r.headers["X-Request-ID"] == "trace-12345678"
    r = client.get("/health", headers={"X-Request-ID": "bad id\n"})
    assert r.headers["X-Request-ID"] != "bad id\n"


def test_feedback_for_unknown_request_is_404(client: Any) -> None:
    r = client.post("/v1/feedback", json={"request_id": "nope-0000", "rating": "up"})
    assert r.status_code == 404 and r.json()["error"]["field"] == "request_id"


def test_feedback_is_stored(client: Any, make_settings: Any) -> None:
    from twin_core.datasets.feedback import get_feedback
    from twin_core.warehouse import connect

    rid = client.post("/v1/generate", json={"query": ONCALL}).json()["request_id"]
    r = client.post("/v1/feedback", json={"request_id": rid, "rating": "down", "edited_answer": "Better."})
    assert r.status_code == 200, r.text
    with connect(client.app.state.api.cfg.warehouse) as wh:
        fb = get_feedback(wh, rid)
    assert fb is not None and fb.rating == "down" and fb.edited_answer == "Better." and fb.query == ONCALL


def test_sources_add_then_trigger_collection(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import twin_core.api.collection as collection

    calls: list[str] = []

    def fake_trigger(cfg: Any, reason: str) -> dict[str, Any]:
        calls.append(reason)
        return {"mode": "in_process", "run_id": "run-1", "state": "running"}

    monkeypatch.setattr(collection, "trigger_collection", fake_trigger)
    author = client.get("/v1/sources").json()["authors"][0]["full_name"]
    r = client.post("/v1/sources", json={"author": author, "links": ["https://example.org/new-post"]})
    assert r.status_code == 201, r.text
    assert r.json()["collection"]["run_id"] == "run-1" and calls
    listed = client.get("/v1/sources").json()
    assert [a["url"] for a in listed["added"]] == ["https://example.org/new-post"]
    r = client.post("/v1/sources", json={"author": "Nobody", "links": ["https://example.org/x"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "author"
    r = client.post("/v1/sources", json={"author": author, "links": ["file:///etc/passwd"], "collect": False})
    assert r.status_code == 422 and r.json()["error"]["field"] == "links"
    assert client.get("/v1/sources/collection/unknown-run").status_code == 404
