"""``run_deploy`` on a registry of tiny models: the real tritonserver, a hot swap under load, lineage, shutdown."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.pipeline.runner import run_step
from twin_core.serving.admin import TritonAdmin
from twin_core.serving.client import TritonLLMClient
from twin_core.serving.server_state import pid_alive, read_record, stop_recorded
from twin_core.serving.tiny import build_tiny_llama, greedy_reference
from twin_core.serving.triton_server import port_open
from twin_core.training.registry import ModelRegistry

pytestmark = pytest.mark.integration
PROMPT = "the quick brown fox"
FAST = ["serving.http_port=0", "serving.grpc_port=0", "serving.cpu.torch_threads=1", "serving.health_max_tokens=3"]


def registry_with(cfg: Any, seeds: tuple[int, ...]) -> ModelRegistry:
    registry = ModelRegistry(cfg.paths.models_dir / "registry")
    for seed in seeds:
        model = build_tiny_llama(cfg.paths.data_dir / f"build-{seed}", seed=seed)
        registry.register("twin-dpo", model_dir=model, manifest={"fingerprint": f"seed{seed}"})
    return registry


def test_deploy_hot_swaps_a_new_version_with_no_failed_request(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings(*FAST, "serving.keep_running=true")
    registry = registry_with(cfg, (1, 2))
    registry.promote("twin-dpo", "v1", "production")
    repo = Path(cfg.serving.repository_dir)
    try:
        first = run_step("deploy", cfg)
        record = read_record(repo)
        assert first.ok and first.details["started_server"] and first.details["kept_running"]
        assert record is not None and record.started_by == "twin step deploy" and pid_alive(record.pid)
        assert [h["model"] for h in first.details["health"]] == ["twin_llm_canary", "twin_llm", "twin_llm_stream"]
        v1 = registry.get("twin-dpo", "v1")
        expected = greedy_reference(v1.path, PROMPT, 6)
        http = TritonLLMClient(record.http_url, timeout_s=30)
        assert http.generate(PROMPT, max_tokens=6) == expected
        assert "".join(TritonLLMClient(record.grpc_url, "grpc").stream(PROMPT, max_tokens=6)) == expected

        seen: list[str] = []
        errors: list[BaseException] = []
        stop = threading.Event()

        def hammer(url: str, protocol: str) -> None:
            client = TritonLLMClient(url, protocol, timeout_s=30, retries=0)  # type: ignore[arg-type]
            while not stop.is_set():
                try:
                    seen.append(client.generate(PROMPT, max_tokens=6))
                except BaseException as exc:
                    errors.append(exc)

        threads = [
            threading.Thread(target=hammer, args=a) for a in ((record.http_url, "http"), (record.grpc_url, "grpc"))
        ]
        for t in threads:
            t.start()
        registry.promote("twin-dpo", "v2", "production")
        second = run_step("deploy", make_settings(*FAST, "quantization=cpu_int8_dynamic"))
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors[:3]
        assert expected in seen and len(set(seen)) == 2  # v1 answered, then v2 (quantised), nothing failed
        assert second.ok and not second.details["started_server"]  # reloaded the running server
        assert second.details["unloaded"] == {"twin_llm": [1], "twin_llm_stream": [1]}
        assert TritonAdmin(record.http_url).ready_versions("twin_llm") == [2]
        assert http.generate(PROMPT, max_tokens=6) == seen[-1]

        history = json.loads((repo / "deployments.json").read_text())["history"]
        assert [(h["triton_version"], h["lineage"]["registry_version"]) for h in history] == [(1, "v1"), (2, "v2")]
        lineage = json.loads((repo / "twin_llm" / "2" / "lineage.json").read_text())
        assert lineage["lineage"]["fingerprint"] == "seed2" and lineage["quantization"] == "cpu_int8_dynamic"
        assert (repo / "twin_llm" / "2" / "model").resolve() == registry.get("twin-dpo", "v2").path.resolve()

        report = json.loads(Path(second.artifacts["quantization_report"]).read_text())
        for side in ("none", "cpu_int8_dynamic"):
            assert report[side]["state_dict_bytes"] > 0 and report[side]["tokens_per_s"] > 0
            assert report[side]["perplexity"] > 1
        assert report["size_ratio"] < 0.5 and (repo / "twin_llm" / "2" / "quantization_report.md").is_file()
        assert second.metrics["quant_size_ratio"] == report["size_ratio"]
    finally:
        stopped = stop_recorded(repo)
    assert stopped and not pid_alive(record.pid) and read_record(repo) is None
    assert not port_open(int(record.http_url.rsplit(":", 1)[1]))


def test_deploy_stops_the_server_it_started_and_flags_a_candidate(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings(*FAST, "serving.cpu.stream_model=false")
    registry_with(cfg, (3,))  # a candidate only: no production version yet
    result = run_step("deploy", cfg)
    assert result.ok and "FALLBACK" in result.message and result.details["lineage"]["fallback"] is True
    assert result.details["started_server"] and not result.details["kept_running"]
    assert read_record(cfg.serving.repository_dir) is None
    assert not port_open(int(result.details["http_url"].rsplit(":", 1)[1]))
    assert result.details["health"][-1]["text"] == greedy_reference(result.artifacts["model"], "hello", 3)
    assert sorted(os.listdir(cfg.serving.repository_dir)) == ["deployments.json", "twin_llm"]  # canary removed
    again = run_step("deploy", cfg)  # a retried task: same registry version, same configs
    assert again.details["skipped"] and again.counts["version"] == 1 and "already deployed" in again.message
