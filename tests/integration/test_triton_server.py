"""The real tritonserver (nvidia-pytriton wheel) on 127.0.0.1 serving the CPU twin model over HTTP and gRPC."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from twin_core.serving.client import TritonClientError, TritonLLMClient, TritonUnavailable
from twin_core.serving.repository import add_version, copy_models
from twin_core.serving.tiny import build_tiny_llama, greedy_reference
from twin_core.serving.triton_dist import TritonRuntime, prepare_runtime
from twin_core.serving.triton_server import TritonServer, TritonServerError, port_open

pytestmark = pytest.mark.integration

PROMPT = "the quick brown fox"


@pytest.fixture(scope="module")
def runtime() -> TritonRuntime:
    return prepare_runtime()  # cached; the first run pip-installs numpy<2 for the backend stub


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("weights")
    return {v: build_tiny_llama(root / f"v{v}", seed=v) for v in (1, 2)}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, runtime: TritonRuntime, weights: dict[int, Path]
) -> Iterator[TritonServer]:
    repo = copy_models(
        tmp_path_factory.mktemp("repo"), params={"model_path": str(weights[1]), "torch_threads": "1"}, instance_count=1
    )
    log_file = tmp_path_factory.mktemp("logs") / "tritonserver.log"
    models = ["twin_llm", "twin_llm_stream"]
    srv = TritonServer(repo, load_models=models, runtime=runtime, env={"OMP_NUM_THREADS": "1"}, log_file=log_file)
    with srv:
        yield srv


def test_generate_over_http_and_grpc_matches_in_process_greedy(server: TritonServer, weights: dict[int, Path]) -> None:
    assert server.startup_s is not None and server.startup_s < 60
    expected = greedy_reference(weights[1], PROMPT, 12)
    assert expected.strip()
    http = TritonLLMClient(server.http_url, "http", timeout_s=30)
    grpc = TritonLLMClient(server.grpc_url, "grpc", timeout_s=30)
    assert http.generate(PROMPT, max_tokens=12, temperature=0.0) == expected
    assert grpc.generate(PROMPT, max_tokens=12, temperature=0.0) == expected
    pieces = list(grpc.stream(PROMPT, max_tokens=12))
    assert len(pieces) > 1 and "".join(pieces) == expected
    stop = expected.split()[2]
    cut = expected[: expected.find(stop)]
    assert http.generate(PROMPT, max_tokens=12, stop=[stop]) == cut
    assert "".join(grpc.stream(PROMPT, max_tokens=12, stop=[stop])) == cut
    sampled = {http.generate(PROMPT, max_tokens=8, temperature=1.0, top_p=0.9, seed=7) for _ in range(2)}
    assert len(sampled) == 1  # a fixed seed reproduces the sample
    with pytest.raises(TritonClientError, match="max_tokens must be >= 1"):
        http.generate(PROMPT, max_tokens=0)


def test_concurrent_requests_are_batched_and_each_answered(server: TritonServer, weights: dict[int, Path]) -> None:
    prompts = [" ".join(["the", "quick", "brown", "fox"][: 1 + i % 4] + ["twin"] * (i % 3)) for i in range(8)]
    expected = [greedy_reference(weights[1], p, 6) for p in prompts]
    client = TritonLLMClient(server.http_url, timeout_s=30)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda p: client.generate(p, max_tokens=6), prompts))
    assert got == expected
    with urllib.request.urlopen(f"{server.http_url}/v2/models/twin_llm/stats") as resp:
        stats = json.load(resp)["model_stats"][0]
    assert max(int(b["batch_size"]) for b in stats["batch_stats"]) > 1  # Triton's dynamic batcher grouped requests


def test_reload_new_version_while_requests_run(server: TritonServer, weights: dict[int, Path]) -> None:
    expected = {v: greedy_reference(weights[v], PROMPT, 8) for v in (1, 2)}
    assert expected[1] != expected[2]
    seen: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def hammer(url: str, protocol: str) -> None:
        client = TritonLLMClient(url, protocol, timeout_s=30, retries=0)  # type: ignore[arg-type]
        while not stop.is_set():
            try:
                seen.append(client.generate(PROMPT, max_tokens=8))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=hammer, args=a) for a in ((server.http_url, "http"), (server.grpc_url, "grpc"))]
    for t in threads:
        t.start()
    time.sleep(0.5)
    assert add_version(server.model_repository, "twin_llm", weights[2]) == 2
    server.load("twin_llm")  # loads v2 beside v1, switches, then drains and unloads v1
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors[:3]
    assert set(seen) == {expected[1], expected[2]}, set(seen) - set(expected.values())
    assert server.is_model_ready("twin_llm", "2")
    assert TritonLLMClient(server.grpc_url, "grpc").generate(PROMPT, max_tokens=8) == expected[2]
    states = {(m["name"], m.get("version")): m.get("state") for m in server.repository_index()}
    assert states[("twin_llm", "2")] == "READY" and states.get(("twin_llm", "1")) != "READY"


def test_shutdown_stops_process_and_closes_ports(server: TritonServer) -> None:
    pid, ports = server.pid, (server.http_port, server.grpc_port)
    assert pid is not None and all(port_open(p) for p in ports)
    server.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the server and its backend stubs are gone
    assert not any(port_open(p) for p in ports)
    with pytest.raises(TritonUnavailable, match="unavailable after 2 attempts"):
        TritonLLMClient(server.http_url, retries=1, backoff_s=0.01).generate(PROMPT)


def test_startup_failure_reports_the_model_error(tmp_path: Path, runtime: TritonRuntime) -> None:
    repo = copy_models(tmp_path / "repo", models=["twin_llm"], params={"model_path": str(tmp_path / "missing")})
    srv = TritonServer(repo, load_models=["twin_llm"], runtime=runtime, startup_timeout_s=60)
    with pytest.raises(TritonServerError, match="no Hugging Face model") as info:
        srv.start()
    assert "log tail" in str(info.value) and srv.pid is None
