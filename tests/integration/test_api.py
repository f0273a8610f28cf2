"""The API on the real stack (LanceDB + MiniLM + a tiny Llama on tritonserver), over real HTTP (ApiServer)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import rag_stack

from twin_core.api import sse
from twin_core.api.server import ApiServer

pytestmark = pytest.mark.integration
QUESTION = "What do you think about testing data pipelines?"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rag_stack.RagStack]:
    yield from rag_stack.stack_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def api(stack: rag_stack.RagStack) -> Iterator[ApiServer]:
    cfg = stack.settings("api.limits.max_body_bytes=4000", "api.limits.max_query_chars=500")
    with ApiServer(cfg, keys=[rag_stack.KEY]) as server:
        yield server


@pytest.fixture
def http(api: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, headers=api.headers(), timeout=60) as client:
        yield client


def test_missing_or_wrong_key_is_401(api: ApiServer) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as anon:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}):
            r = anon.post("/v1/generate", json={"query": QUESTION}, headers=headers)
            assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]
            assert r.json()["error"]["type"] == "authentication_error"
        assert anon.get("/v1/models", headers={"X-API-Key": rag_stack.KEY}).status_code == 200
        health = anon.get("/health").json()
        assert health["status"] == "ok" and health["model_server"]["ready"] is True


def test_oversized_input_is_413(http: httpx.Client) -> None:
    r = http.post("/v1/generate", content=b"{" + b" " * 5000 + b"}", headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    r = http.post(
        "/v1/generate",
        content=iter([b'{"query": "', b"z" * 5000, b'"}']),  # chunked: no Content-Length
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text
    r = http.post("/v1/generate", json={"query": "q" * 501})
    assert r.status_code == 413 and r.json()["error"]["field"] == "query"


def test_malformed_json_is_422(http: httpx.Client) -> None:
    r = http.post("/v1/generate", content=b'{"query": }', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "column 11" in r.json()["error"]["message"]
    r = http.post("/v1/generate", json={"query": QUESTION, "content_type": "haiku"})
    assert r.status_code == 422 and "linkedin_post" in r.json()["error"]["message"]


def test_answer_sources_exist_in_the_vector_store(http: httpx.Client, stack: rag_stack.RagStack) -> None:
    r = http.post("/v1/generate", json={"query": QUESTION, "k": 4, "max_tokens": 12})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"].strip() and body["request_id"] == r.headers["X-Request-ID"]
    assert 0 < len(body["sources"]) <= 4
    stored = stack.stored_ids()
    for source in body["sources"]:
        assert source["chunk_id"] in stored, source
        assert source["author_name"] == stack.author
    assert body["timings"]["total_s"] > 0 and body["usage"]["completion_tokens"] > 0


def test_filters_restrict_sources(http: httpx.Client) -> None:
    r = http.post("/v1/generate", json={"query": QUESTION, "filters": {"platform": "linkedin"}, "max_tokens": 4})
    assert r.status_code == 200 and {s["platform"] for s in r.json()["sources"]} == {"linkedin"}


def test_generate_stream_pieces_make_the_answer(http: httpx.Client, stack: rag_stack.RagStack) -> None:
    with http.stream("POST", "/v1/generate", json={"query": QUESTION, "stream": True, "max_tokens": 16}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = sse.parse(text)
    deltas = [json.loads(d)["text"] for k, d in events if k == "delta"]
    done = json.loads(events[-1][1])
    assert events[-1][0] == "done" and len(deltas) > 1
    assert "".join(deltas) == done["answer"] and done["answer"].strip()
    assert {s["chunk_id"] for s in done["sources"]} <= stack.stored_ids()


def test_chat_completions_json_and_stream(http: httpx.Client, stack: rag_stack.RagStack) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    messages.append({"role": "user", "content": QUESTION})
    r = http.post("/v1/chat/completions", json={"model": "twin_llm", "messages": messages, "max_tokens": 8})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["choices"][0]["message"]["content"].strip() and body["usage"]["total_tokens"] > 0
    assert {s["chunk_id"] for s in body["sources"]} <= stack.stored_ids()

    payload = {"model": "twin_llm", "messages": messages, "max_tokens": 12, "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=payload) as r:
        text = "".join(r.iter_text())
    events = sse.parse(text)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in events[:-1]]
    pieces = [c["choices"][0]["delta"].get("content", "") for c in chunks]
    assert sum(1 for p in pieces if p) > 1
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop" and final["sources"]
    assert final["usage"]["completion_tokens"] > 0
    assert "".join(pieces).strip()
    assert http.get("/v1/models").json()["data"][0]["id"] == "twin_llm"


def test_private_link_is_400_naming_it(http: httpx.Client) -> None:
    r = http.post("/v1/generate", json={"query": QUESTION, "links": ["http://127.0.0.1:9/secret"]})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "link_refused" and "127.0.0.1:9/secret" in r.json()["error"]["message"]


def test_model_server_down_is_503(stack: rag_stack.RagStack) -> None:
    from twin_core.serving.triton_server import free_port

    down = [f"rag.generator.http_url=http://127.0.0.1:{free_port()}", f"rag.generator.grpc_url=127.0.0.1:{free_port()}"]
    with ApiServer(stack.settings(*down), keys=["k"]) as server, httpx.Client(base_url=server.url, timeout=60) as c:
        for stream in (False, True):
            r = c.post("/v1/generate", json={"query": QUESTION, "stream": stream}, headers={"X-API-Key": "k"})
            assert r.status_code == 503, r.text
            assert r.json()["error"]["type"] == "model_unavailable" and "unavailable" in r.json()["error"]["message"]
        health = c.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "degraded"


def test_feedback_is_stored_for_a_logged_answer(http: httpx.Client, api: ApiServer) -> None:
    from twin_core.datasets.feedback import get_feedback
    from twin_core.warehouse import connect

    rid = http.post("/v1/generate", json={"query": QUESTION, "max_tokens": 6}).json()["request_id"]
    r = http.post("/v1/feedback", json={"request_id": rid, "rating": "up", "comment": "sounds like me"})
    assert r.status_code == 200, r.text
    with connect(api.cfg.warehouse) as wh:
        fb = get_feedback(wh, rid)
    assert fb is not None and fb.rating == "up" and fb.query == QUESTION
    assert http.post("/v1/feedback", json={"request_id": "unknown-id", "rating": "up"}).status_code == 404


def _logged(monitor: Any, request_id: str, timeout_s: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while (log := monitor.get(request_id)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return log


def test_every_request_is_logged_and_counted(http: httpx.Client, api: ApiServer) -> None:
    from twin_core.monitoring.monitor import PromptMonitor

    ok = http.post("/v1/generate", json={"query": QUESTION, "max_tokens": 4})
    refused = httpx.post(f"{api.url}/v1/generate", json={"query": QUESTION}, timeout=30)
    monitor = PromptMonitor(api.cfg.monitoring, api.cfg.warehouse)
    try:  # recorded right after the response is sent
        log = _logged(monitor, ok.headers["X-Request-ID"])
        assert log is not None and log.status == "ok" and log.retrieved_ids and log.latency["total_s"] > 0
        assert log.usage["completion_tokens"] > 0
        bad = _logged(monitor, refused.headers["X-Request-ID"])
        assert bad is not None and bad.status == "error" and bad.http_status == 401
    finally:
        monitor.close()
    summary = http.get("/v1/monitoring/summary").json()
    assert summary["requests"] >= 2 and summary["errors"] >= 1
    metrics = httpx.get(f"{api.url}/metrics").text
    assert 'twin_api_requests_total{endpoint="/v1/generate",status="200"}' in metrics
    assert 'twin_api_requests_total{endpoint="/v1/generate",status="401"}' in metrics


def test_sources_list_and_add(http: httpx.Client, stack: rag_stack.RagStack) -> None:
    r = http.post("/v1/sources", json={"author": stack.author, "links": ["https://example.org/p/1"], "collect": False})
    assert r.status_code == 201 and r.json()["added"][0]["new"] is True
    listed = http.get("/v1/sources").json()
    assert "https://example.org/p/1" in [x["url"] for x in listed["authors"][0]["added"]]
    assert http.get("/v1/sources/collection").json()["state"] in ("none", "success", "failed", "running")


def test_ask_step_through_the_recorded_server(stack: rag_stack.RagStack, capsys: pytest.CaptureFixture[str]) -> None:
    from twin_core.api.ask import NothingDeployed, run_ask
    from twin_core.serving.server_state import clear_record, record_server

    repo = stack.server.model_repository
    unset = ["rag.generator.http_url=null", "rag.generator.grpc_url=null", "api.ask_question=testing pipelines"]
    cfg = stack.settings(*unset, f"serving.repository_dir={repo}")
    record_server(repo, stack.server, "test", stack.root / "tritonserver.log")
    try:
        result = run_ask(cfg)
    finally:
        clear_record(repo)
    assert result.ok and result.counts["sources"] > 0 and "running server" in result.message
    assert len(result.details["sources"]) == result.counts["sources"] and result.details["request_id"]
    from twin_core.pipeline.report import render_report

    capsys.readouterr()
    render_report([result], title="ask")
    out = capsys.readouterr().out
    assert "asked: 'testing pipelines'" in out and "source 1: " in out
    with pytest.raises(NothingDeployed, match="twin step deploy"):
        run_ask(stack.settings(*unset, f"serving.repository_dir={stack.root / 'empty'}"))
