"""The engine build step on a registry entry: rendered plan here, commands run where TensorRT-LLM is installed."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.pipeline.runner import run_step
from twin_core.serving import engine, pbtxt
from twin_core.serving.lineage import select_model
from twin_core.serving.trtllm import parse_flags
from twin_core.training.registry import ModelRegistry

FAKE = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$FAKE_LOG"
[ "$(basename "$0")" = "${FAKE_FAIL:-}" ] && { echo "boom from $0"; exit 3; }
while [ $# -gt 0 ]; do [ "$1" = --output_dir ] && mkdir -p "$2"; shift; done
"""


def register(cfg: Any, *, stage: str | None = "production", n: int = 1) -> list[Any]:
    registry = ModelRegistry(cfg.paths.models_dir / "registry")
    out = []
    for i in range(n):
        folder = cfg.paths.data_dir / f"m{i}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        out.append(
            registry.register("twin-dpo", model_dir=folder, manifest={"fingerprint": f"fp{i}"}, stage="candidate")
        )
    if stage == "production":
        registry.promote("twin-dpo", out[0].version, "production")
    return out


def test_engine_step_renders_the_plan_when_tensorrt_llm_is_absent(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("serving=gpu", "quantization=int4_awq", "serving.trtllm.tp_size=2")
    (v1, _) = register(cfg, n=2)  # v1 is production, v2 only a candidate
    result = run_step("engine", cfg)
    out = cfg.paths.artifacts_dir / "engines" / "twin-dpo-v1"
    assert result.ok and result.details["status"] == "rendered_only" and "not installed here" in result.message
    assert result.artifacts["plan"] == str(out / "plan.json")
    plan = json.loads((out / "plan.json").read_text())
    assert plan["status"] == "rendered_only" and plan["world_size"] == 2
    assert plan["model"]["registry_version"] == "v1" and plan["model"]["fallback"] is False
    assert [c["name"] for c in plan["commands"]] == ["checkpoint", "build", "serve"]
    ckpt = parse_flags(plan["commands"][0]["argv"])
    assert (ckpt["model_dir"], ckpt["qformat"], ckpt["tp_size"]) == (str(v1.path), "int4_awq", "2")
    assert ckpt["output_dir"] == str(out / "checkpoint")
    assert parse_flags(plan["commands"][1]["argv"])["checkpoint_dir"] == str(out / "checkpoint")
    script = (out / "commands.sh").read_text()
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    assert "trtllm-build --checkpoint_dir" in script and "--qformat int4_awq" in script
    repo = out / "triton_repo"
    assert sorted(p.name for p in repo.iterdir()) == ["postprocessing", "preprocessing", "tensorrt_llm", "twin_llm"]
    trt = pbtxt.parse((repo / "tensorrt_llm" / "config.pbtxt").read_text())
    assert pbtxt.params(trt)["gpt_model_path"] == str(out / "engine")
    assert pbtxt.params(trt)["gpu_device_ids"] == "0,1"
    pre = pbtxt.parse((repo / "preprocessing" / "config.pbtxt").read_text())
    assert pbtxt.params(pre)["tokenizer_dir"] == str(v1.path)


def test_engine_step_runs_the_commands_where_tensorrt_llm_is_installed(
    make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3", "trtllm-build"):
        (bin_dir / name).write_text(FAKE)
        (bin_dir / name).chmod(0o755 | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.log"))
    monkeypatch.setattr(engine, "tensorrt_llm_available", lambda: True)
    cfg = make_settings("serving=gpu")
    register(cfg)
    result = run_step("engine", cfg)
    out = Path(result.artifacts["plan"]).parent
    assert result.details["status"] == "built" and (out / "engine").is_dir()
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["python3", "trtllm-build"]  # serve is not run by the build step
    assert [r["name"] for r in json.loads((out / "plan.json").read_text())["runs"]] == ["checkpoint", "build"]
    monkeypatch.setenv("FAKE_FAIL", "trtllm-build")
    with pytest.raises(engine.EngineBuildError, match=r"build failed with code 3 .*\n.*boom from"):
        run_step("engine", cfg)


def test_cpu_quantization_skips_the_engine(make_settings: Callable[..., Any]) -> None:
    result = run_step("engine", make_settings("quantization=cpu_int8_dynamic"))
    assert result.ok and result.details["status"] == "skipped" and "CPU option" in result.message


def test_without_production_the_candidate_is_served_and_flagged(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings()
    register(cfg, stage=None, n=2)
    served = select_model(cfg)
    assert (served.version, served.stage, served.fallback) == ("v2", "candidate", True)
    assert served.lineage()["fingerprint"] == "fp1" and served.tag == "twin-dpo-v2"


def test_no_registered_model_fails_with_what_to_do(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(FileNotFoundError, match=r"'twin-dpo' has no version .*twin pipeline=train"):
        run_step("engine", make_settings("serving=gpu"))
