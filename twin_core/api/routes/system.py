"""Operations and pages: ``GET /health`` and ``GET /metrics`` (no key), ``GET /v1/monitoring/summary``, and the
web UI (``/`` chat, ``/sources``) served from ``twin_core/api/static`` (no build step)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from twin_core.api.errors import ApiError
from twin_core.api.generation import as_dict
from twin_core.api.service_errors import map_error
from twin_core.api.state import State

STATIC_DIR = Path(__file__).parents[1] / "static"

#: ``/health`` and ``/metrics``: outside ``/v1``, no key needed.
router = APIRouter()
#: ``/monitoring/summary`` (mounted under ``/v1``).
monitoring_router = APIRouter()


@router.get("/health", tags=["ops"])
async def health(state: State) -> JSONResponse:
    """Liveness and the model server's state (always 200; ``status`` says whether answers can be made)."""
    cfg = state.cfg
    body: dict[str, Any] = {"status": "ok", "uptime_s": round(time.time() - state.started, 1)}
    try:
        service = state.service()
        with anyio.fail_after(10):
            model = await run_in_threadpool(service.health)
        model = as_dict(model) if model is not None else {}
    except Exception as exc:
        err = map_error(exc)
        model = {"ready": False, "error": err.message if err else f"{type(exc).__name__}: {exc}"}
    ready = bool(model.get("ready", model.get("model_ready", model.get("ok", False))))
    body["status"] = "ok" if ready else "degraded"
    body["model_server"] = jsonable_encoder(model)
    body["auth"] = cfg.api.auth.enabled
    types = sorted(cfg.rag.content_types.items(), key=lambda kv: kv[0] != cfg.rag.default_content_type)
    body["content_types"] = [{"name": name, "description": ct.description} for name, ct in types]
    return JSONResponse(body)


@router.get("/metrics", tags=["ops"], response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics (text exposition format)."""
    from twin_core.monitoring import metrics as m

    content, content_type = m.render()
    return Response(content, media_type=content_type)


@monitoring_router.get("/monitoring/summary", tags=["ops"])
async def monitoring_summary(
    state: State,
    since: datetime | None = Query(default=None, description="ISO time; default: everything"),
    until: datetime | None = Query(default=None),
) -> Any:
    """Requests, error rate, latency percentiles, tokens, by endpoint and content type, top documents."""
    monitor = state.monitor()
    if monitor is None:
        raise ApiError(503, "prompt monitoring is off (monitoring.enabled=false)", type="unavailable")
    return await run_in_threadpool(_summary, monitor, since, until)


def _summary(monitor: Any, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    out = jsonable_encoder(monitor.summary(since=since, until=until))
    return out if isinstance(out, dict) else {"summary": out}


def install_ui(app: FastAPI) -> None:
    """The chat page at ``/``, the sources page at ``/sources`` and their assets under ``/static``."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def page(name: str) -> Callable[[], FileResponse]:
        def serve() -> FileResponse:
            return FileResponse(STATIC_DIR / name, media_type="text/html", headers={"Cache-Control": "no-cache"})

        return serve

    app.add_api_route("/", page("index.html"), methods=["GET"], include_in_schema=False)
    app.add_api_route("/sources", page("sources.html"), methods=["GET"], include_in_schema=False)
