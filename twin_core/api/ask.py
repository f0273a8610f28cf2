"""The ``ask`` step: put ``api.ask_question`` to the twin through the real API, over HTTP, and print the answer.

Uses the Triton server a deploy or ``twin serve`` left running; when none is recorded, starts one on the deployed
repository (free ports) and stops it afterwards. The API runs in a background thread with an ephemeral key.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_core.domain.results import StepResult

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.api")
SOURCE_KEYS = ("chunk_id", "link", "title", "platform", "score")


class NothingDeployed(RuntimeError):
    """No model in the Triton repository."""


def _with_endpoint(cfg: TwinSettings, http_url: str, grpc_url: str) -> TwinSettings:
    generator = cfg.rag.generator.model_copy(update={"http_url": http_url, "grpc_url": grpc_url})
    return cfg.model_copy(update={"rag": cfg.rag.model_copy(update={"generator": generator})})


def _start_triton(cfg: TwinSettings, repo: Path, models: list[str]) -> Any:
    from twin_core.serving.serve import triton_for

    server = triton_for(cfg, repo, load_models=models, configured_ports=False, log_name="tritonserver-ask.log")
    server.start()
    return server


def run_ask(cfg: TwinSettings) -> StepResult:
    """Ask the deployed twin ``cfg.api.ask_question`` through ``POST /v1/generate``; the report prints the answer."""
    import httpx

    from twin_core.api.auth import generate_key
    from twin_core.api.server import ApiServer
    from twin_core.serving.serve import served_models
    from twin_core.serving.server_state import running_server

    started = time.perf_counter()
    g, repo = cfg.rag.generator, Path(cfg.serving.repository_dir)
    triton, how = None, "configured endpoint"
    if not (g.http_url and g.grpc_url):
        models = served_models(repo)
        if not models:
            raise NothingDeployed(f"no deployed model in {repo}: run `twin step deploy` first")
        record = running_server(repo)
        if record is not None:
            cfg, how = _with_endpoint(cfg, record.http_url, record.grpc_url), f"running server (pid {record.pid})"
        else:
            t = time.perf_counter()
            triton = _start_triton(cfg, repo, models)
            cfg, how = _with_endpoint(cfg, triton.http_url, triton.grpc_url), "tritonserver started for this step"
            log.info("tritonserver started for ask", extra={"seconds": round(time.perf_counter() - t, 2)})
    question = cfg.api.ask_question
    try:
        with ApiServer(cfg, keys=[generate_key()]) as api:
            t = time.perf_counter()
            resp = httpx.post(
                f"{api.url}/v1/generate",
                json={"query": question},
                headers=api.headers(),
                timeout=cfg.api.ask_timeout_s,
            )
            request_s = time.perf_counter() - t
            body = resp.json()
            if resp.status_code != 200:
                err = body.get("error", {}) if isinstance(body, dict) else {}
                raise RuntimeError(f"POST /v1/generate answered {resp.status_code}: {err.get('message', resp.text)}")
            request_id = resp.headers.get("X-Request-ID", body.get("request_id", ""))
            api_url = api.url
    finally:
        if triton is not None:
            triton.stop()
    timings = {k: float(v) for k, v in body.get("timings", {}).items()}
    metrics = {f"answer_{k}": round(v, 4) for k, v in timings.items()} | {"request_s": round(request_s, 4)}
    usage = body.get("usage", {})
    return StepResult(
        step="ask",
        message=f"answered in {request_s:.2f}s with {len(body['sources'])} sources ({how})",
        counts={
            "sources": len(body["sources"]),
            "answer_chars": len(body["answer"]),
            "prompt_tokens": int(usage.get("prompt_tokens", 0)),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
        },
        metrics=metrics,
        details={
            "question": question,
            "answer": body["answer"],
            "request_id": request_id,
            "api_url": api_url,
            "endpoint": how,
            "sources": [{k: s.get(k) for k in SOURCE_KEYS} for s in body["sources"]],
        },
        duration_s=round(time.perf_counter() - started, 3),
    )
