"""The engine build step: render (and, where TensorRT-LLM is installed, run) the GPU plan for the served model.

Output in ``<artifacts_dir>/engines/<name>-<version>/``: ``plan.json`` (commands, configs, lineage, status),
``commands.sh`` (the same commands for the GPU image) and ``triton_repo/`` (the rendered GPU model repository).
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from twin_core.domain.results import StepResult
from twin_core.serving import pbtxt
from twin_core.serving.lineage import now, select_model, write_json
from twin_core.serving.model_configs import gpu_configs, write_gpu_repository
from twin_core.serving.trtllm import Command, plan, tensorrt_llm_available

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.serving.engine")


class EngineBuildError(RuntimeError):
    """A TensorRT-LLM command failed; the message names it and points at its log."""


def commands_script(commands: list[Command]) -> str:
    """A bash script running ``commands`` in order (what the GPU image runs)."""
    lines = [
        "#!/usr/bin/env bash",
        "# Rendered by twin step engine; run inside the TensorRT-LLM image.",
        "set -euo pipefail",
    ]
    for cmd in commands:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in cmd.env.items())
        lines += [f"# {cmd.name}", (env + " " if env else "") + shlex.join(cmd.argv)]
    return "\n".join(lines) + "\n"


def run_commands(commands: list[Command], logs: Path) -> list[dict[str, object]]:
    """Run each build command (not ``serve``) with its log in ``logs/``; stop at the first failure."""
    done = []
    for cmd in (c for c in commands if c.name != "serve"):
        log_file = logs / f"{cmd.name}.log"
        started = time.perf_counter()
        with log_file.open("wb") as out:
            proc = subprocess.run(cmd.argv, stdout=out, stderr=subprocess.STDOUT, env=os.environ | cmd.env)
        seconds = round(time.perf_counter() - started, 2)
        done.append({"name": cmd.name, "returncode": proc.returncode, "seconds": seconds, "log": str(log_file)})
        if proc.returncode != 0:
            tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-20:])
            raise EngineBuildError(f"{cmd.name} failed with code {proc.returncode} (log {log_file}):\n{tail}")
        log.info("%s done in %.1fs", cmd.name, seconds)
    return done


def run_engine_build(cfg: TwinSettings) -> StepResult:
    """Render the conversion, ``trtllm-build`` and Triton configs for the served model; run them if possible."""
    quant, serving = cfg.quantization, cfg.serving
    if quant.method == "cpu_int8_dynamic":
        return StepResult(
            step="engine",
            message="quantization=cpu_int8_dynamic is a CPU option: no TensorRT-LLM engine to build (see deploy)",
            details={"status": "skipped"},
        )
    model = select_model(cfg)
    out = Path(cfg.paths.artifacts_dir) / "engines" / model.tag
    repo = out / "triton_repo"
    (out / "logs").mkdir(parents=True, exist_ok=True)
    commands = plan(quant, serving, model_dir=str(model.path), out=str(out), repository=str(repo))
    draft_dir = str(out / "draft_engine") if serving.trtllm.speculative.enabled else None
    configs = gpu_configs(
        serving, engine_dir=str(out / "engine"), tokenizer_dir=str(model.path), draft_engine_dir=draft_dir
    )
    missing = write_gpu_repository(configs, repo, serving.trtllm.bls_model_py)
    for config in configs.values():
        pbtxt.validate(pbtxt.dump(config))  # Triton's own schema, where tritonclient is installed
    (out / "commands.sh").write_text(commands_script(commands))
    manifest = {
        "created_at": now(),
        "model": model.lineage(),
        "quantization": quant.model_dump(mode="json"),
        "serving": serving.model_dump(mode="json", include={"model_name", "max_batch_size", "max_input_len"})
        | {"max_seq_len": serving.max_seq_len, "trtllm": serving.trtllm.model_dump(mode="json")},
        "world_size": serving.trtllm.world_size,
        "commands": [c.to_dict() for c in commands],
        "triton_models": sorted(configs),
        "missing": missing,
        "status": "rendered_only",
    }
    available = tensorrt_llm_available()
    if available:
        manifest["runs"] = run_commands(commands, out / "logs")
        manifest["status"] = "built"
    write_json(out / "plan.json", manifest)
    why = "" if available else "TensorRT-LLM is not installed here (no tensorrt_llm module / trtllm-build): "
    message = (
        f"{why}{manifest['status']} {model.tag} ({quant.method}, kv {quant.kv_cache}, tp{serving.trtllm.tp_size}"
        f"xpp{serving.trtllm.pp_size}); run {out / 'commands.sh'} in the GPU image"
        if not available
        else f"built {model.tag} ({quant.method}) into {out / 'engine'}"
    )
    log.info(message)
    return StepResult(
        step="engine",
        message=message,
        counts={"commands": len(commands), "triton_models": len(configs), "missing_files": len(missing)},
        artifacts={"plan": str(out / "plan.json"), "script": str(out / "commands.sh"), "repository": str(repo)},
        details={"status": manifest["status"], "model": model.lineage(), "missing": missing},
    )
