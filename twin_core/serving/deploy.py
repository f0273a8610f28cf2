"""The deploy step: the registry's production model becomes a new version in the Triton repository, hot-swapped.

Order, so that no request fails: write ``<v>/`` (weights linked), load it as a *canary* model and send it a real
generate request, then load the live model (Triton loads ``v`` before it drains and unloads the old version),
check it again and wait until the old version is gone. Starts Triton when no recorded one runs; stops what it
started unless ``serving.keep_running``. Lineage goes to ``deployments.json`` in the repository.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_core.domain.results import StepResult
from twin_core.serving import pbtxt
from twin_core.serving.admin import TritonAdmin, TritonServerError
from twin_core.serving.client import TritonLLMClient
from twin_core.serving.lineage import ServedModel, now, select_model, write_json
from twin_core.serving.model_configs import TEMPLATES, cpu_configs, cpu_model_config, write_config
from twin_core.serving.repository import add_version, versions
from twin_core.serving.serve import triton_for
from twin_core.serving.server_state import clear_record, record_server, running_server
from twin_core.serving.triton_server import TritonServer

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings
    from twin_core.serving.settings import ServingSettings

log = logging.getLogger("twin.serving.deploy")
CANARY = "_canary"


def _health(url: str, model: str, serving: ServingSettings, protocol: str = "http") -> dict[str, Any]:
    """One real generate request (a stream over gRPC for the decoupled model); its text and latency."""
    client = TritonLLMClient(url, protocol, model=model, stream_model=model, timeout_s=60, retries=2)  # type: ignore[arg-type]
    started = time.perf_counter()
    if protocol == "grpc":
        text = "".join(client.stream(serving.health_prompt, max_tokens=serving.health_max_tokens))
    else:
        text = client.generate(serving.health_prompt, max_tokens=serving.health_max_tokens)
    client.close()
    return {
        "model": model,
        "prompt": serving.health_prompt,
        "text": text,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _canary_check(admin: TritonAdmin, repo: Path, cfg: TwinSettings, version: int) -> dict[str, Any]:
    """Load ``version`` alone under a throwaway name, generate once, unload it and remove its folder."""
    serving = cfg.serving
    name = serving.model_name + CANARY
    config = pbtxt.patch(cpu_model_config(serving, cfg.quantization), {"name": name})
    one = {"version_policy": {"specific": {"versions": [version]}}, "dynamic_batching": None}
    config = pbtxt.patch(config, one | {"instance_group": [{"kind": pbtxt.Ident("KIND_CPU"), "count": 1}]})
    folder = repo / name
    shutil.rmtree(folder, ignore_errors=True)
    write_config(repo, name, config)
    (folder / str(version)).symlink_to(repo / serving.model_name / str(version), target_is_directory=True)
    try:
        admin.load(name)
        return _health(admin.http_url, name, serving)
    finally:
        try:
            admin.unload(name)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _wait_unloaded(admin: TritonAdmin, model: str, version: int, timeout_s: float = 60.0) -> list[int]:
    """Wait until only ``version`` of ``model`` is loaded; the versions that were still there."""
    deadline, old = time.monotonic() + timeout_s, []
    while True:
        rows = [m for m in admin.repository_index() if m.get("name") == model and m.get("version")]
        live = {int(m["version"]) for m in rows if m.get("state") in ("READY", "LOADING", "UNLOADING")}
        old = sorted(set(old) | (live - {version}))
        if live == {version}:
            return old
        if time.monotonic() > deadline:
            raise TritonServerError(f"{model}: versions {sorted(live)} still loaded {timeout_s:.0f}s after the swap")
        time.sleep(0.2)


def _new_version(repo: Path, models: list[str], served: ServedModel, link: bool) -> int:
    """The same new version number in every model folder, weights linked (or copied) from the registry."""
    version = max((max(versions(repo, m), default=0) for m in models), default=0) + 1
    for model in models:
        code = TEMPLATES / ("twin_llm_stream" if model.endswith("_stream") else "twin_llm") / "1" / "model.py"
        add_version(repo, model, served.path, version=version, link=link, code=code)
    return version


def _quantization_report(cfg: TwinSettings, served: ServedModel, out: Path) -> dict[str, Any] | None:
    if cfg.quantization.method != "cpu_int8_dynamic":
        return None
    from twin_core.serving.quantize import compare, write_report

    report = compare(served.path, cfg.quantization.report)
    write_report(report, out)
    return report


def _already_deployed(repo: Path, served: ServedModel, digest: str, model: str) -> dict[str, Any] | None:
    """The current deployment if it serves this registry version with these configs (and a running server has it)."""
    path = repo / "deployments.json"
    current = json.loads(path.read_text())["current"] if path.is_file() else None
    if not current or current.get("config_digest") != digest or not Path(current["version_dir"]).is_dir():
        return None
    if (current["lineage"]["registry"], current["lineage"]["registry_version"]) != (served.name, served.version):
        return None
    record = running_server(repo)
    live = record is None or TritonAdmin(record.http_url).ready_versions(model) == [current["triton_version"]]
    return current if live else None


def _record(repo: Path, entry: dict[str, Any]) -> Path:
    path = repo / "deployments.json"
    history = json.loads(path.read_text())["history"] if path.is_file() else []
    return write_json(path, {"current": entry, "history": [*history, entry]})


def _start(cfg: TwinSettings, repo: Path) -> TritonServer:
    server = triton_for(cfg, repo, die_with_parent=not cfg.serving.keep_running)
    server.start()
    record_server(repo, server, "twin step deploy", server.log_file)
    return server


def run_deploy(cfg: TwinSettings) -> StepResult:
    """Deploy the served model as a new version with a canary check and a hot swap; record its lineage."""
    serving, started_at = cfg.serving, time.perf_counter()
    if serving.target == "sagemaker":
        from twin_core.cloud.sagemaker_endpoint import deploy_to_sagemaker

        return deploy_to_sagemaker(cfg)
    if serving.backend != "triton_python":
        raise ValueError(
            "deploy serves the CPU Triton model; for GPUs run `twin step engine serving=gpu` and serve its repo"
        )
    served = select_model(cfg)
    repo = Path(serving.repository_dir)
    repo.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(repo / (serving.model_name + CANARY), ignore_errors=True)  # left by an interrupted deploy
    configs = cpu_configs(serving, cfg.quantization)  # fails early on a GPU-only quantization method
    models = list(configs)
    digest = hashlib.sha256(json.dumps(configs, sort_keys=True).encode()).hexdigest()[:16]
    if current := _already_deployed(repo, served, digest, serving.model_name):  # a retry or backfill: nothing to do
        return StepResult(
            step="deploy",
            message=f"{served.tag} already deployed as {serving.model_name} v{current['triton_version']}; skipped",
            counts={"version": current["triton_version"], "models": len(models)},
            artifacts={"repository": str(repo), "deployments": str(repo / "deployments.json")},
            details={"lineage": served.lineage(), "skipped": True},
        )
    version = _new_version(repo, models, served, serving.link_weights)
    version_dir = repo / serving.model_name / str(version)
    server, swapped = None, False
    try:
        report = _quantization_report(cfg, served, version_dir)
        record = running_server(repo)
        server = None if record else _start(cfg, repo)
        http_url, grpc_url = (record.http_url, record.grpc_url) if record else (server.http_url, server.grpc_url)  # type: ignore[union-attr]
        admin = TritonAdmin(http_url)
        checks = [_canary_check(admin, repo, cfg, version)]
        unloaded: dict[str, list[int]] = {}
        for model, config in cpu_configs(serving, cfg.quantization, version).items():
            write_config(repo, model, config)
            admin.load(model)  # Triton keeps the old version serving if this fails
            swapped = True
            stream = model.endswith("_stream")
            checks.append(_health(grpc_url if stream else http_url, model, serving, "grpc" if stream else "http"))
            unloaded[model] = _wait_unloaded(admin, model, version)
        entry = {
            "deployed_at": now(),
            "model_name": serving.model_name,
            "models": models,
            "triton_version": version,
            "version_dir": str(version_dir),
            "lineage": served.lineage(),
            "quantization": cfg.quantization.method,
            "config_digest": digest,
            "server": {"http_url": http_url, "grpc_url": grpc_url, "started_here": server is not None},
            "health": checks,
            "unloaded": unloaded,
        }
        write_json(version_dir / "lineage.json", entry)
        deployments = _record(repo, entry)
    except BaseException:
        if not swapped:  # never leave an unchecked version as the newest on disk
            for model in models:
                shutil.rmtree(repo / model / str(version), ignore_errors=True)
        raise
    finally:
        if server is not None and not serving.keep_running:
            server.stop()
            clear_record(repo)
        elif server is not None:
            server.release()  # keeps running; the state file lets the next deploy reload it
    kept = server is not None and serving.keep_running
    flag = " (FALLBACK: no production version)" if served.fallback else ""
    message = (
        f"deployed {served.tag}{flag} as {serving.model_name} v{version} on {http_url}; "
        f"unloaded {sorted({v for vs in unloaded.values() for v in vs}) or 'nothing'}; "
        + ("server left running" if kept or server is None else "server stopped")
    )
    metrics = {"health_latency_s": checks[-1]["seconds"], "deploy_s": round(time.perf_counter() - started_at, 2)}
    if report:
        metrics |= {f"quant_{k}": float(report[k]) for k in ("size_ratio", "speedup", "perplexity_delta")}
    return StepResult(
        step="deploy",
        message=message,
        counts={"version": version, "models": len(models), "unloaded": sum(len(v) for v in unloaded.values())},
        metrics=metrics,
        artifacts={"repository": str(repo), "deployments": str(deployments), "model": str(served.path)}
        | ({"quantization_report": str(version_dir / "quantization_report.json")} if report else {}),
        details={
            "lineage": served.lineage(),
            "http_url": http_url,
            "grpc_url": grpc_url,
            "health": checks,
            "kept_running": kept,
            "started_server": server is not None,
            "unloaded": unloaded,
            "skipped": False,
        },
    )
