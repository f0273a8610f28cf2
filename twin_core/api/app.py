"""The RAG inference API: ``create_app(cfg)`` builds the FastAPI app (routes, auth, limits, errors, UI).

Routes (``/v1/*`` need an API key):
    GET  /health                      model server state (no auth)                      routes/system.py
    GET  /metrics                     Prometheus text (no auth)                         routes/system.py
    POST /v1/generate                 {query, content_type, filters, k, links, stream}  routes/generate.py
                                      -> answer + sources (or SSE)
    POST /v1/chat/completions         OpenAI-compatible (stream=true: SSE chunks,       routes/openai.py
                                      then ``data: [DONE]``)
    GET  /v1/models                                                                     routes/openai.py
    POST /v1/feedback                 {request_id, rating, edited_answer, comment}      routes/feedback.py
    GET  /v1/sources                  configured sources and added links                routes/sources.py
    POST /v1/sources                  add links for an author, then trigger collection  routes/sources.py
    GET  /v1/sources/collection[/{run_id}]                                              routes/sources.py
    GET  /v1/monitoring/summary                                                         routes/system.py
    GET  /  and  /sources             the web UI (static files, no build step)          routes/system.py

Every request gets an ``X-Request-ID``; every ``/v1`` request is recorded by the prompt monitor and every request
is counted in Prometheus (request_context.py). The routes reach the settings, the RAG service and the prompt
monitor through ``app.state.api`` (an :class:`~twin_core.api.state.ApiState`, the ``State`` dependency).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.concurrency import run_in_threadpool

from twin_core.api.auth import AuthMiddleware, keys_from_env
from twin_core.api.errors import install_handlers
from twin_core.api.generation import source_out
from twin_core.api.limits import BodyLimitMiddleware
from twin_core.api.request_context import RequestContextMiddleware
from twin_core.api.routes import feedback, generate, openai, sources, system
from twin_core.api.routes.system import STATIC_DIR
from twin_core.api.service_errors import map_error
from twin_core.api.state import ApiState

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

__all__ = ["ERROR_RESPONSES", "STATIC_DIR", "ApiState", "create_app", "map_error", "source_out"]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A refused link or a guardrail block"},
    401: {"description": "Missing or wrong API key"},
    413: {"description": "Body, query or a limit exceeded"},
    422: {"description": "Malformed JSON or an invalid field"},
    503: {"description": "The model server is down"},
}

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <key>")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <key>")


def create_app(
    cfg: TwinSettings, *, service: Any = None, monitor: Any = None, keys: Sequence[str] | None = None
) -> FastAPI:
    """The API for ``cfg``; ``service``/``monitor`` injectable (built from cfg on first use otherwise); ``keys``
    default to the env var named by ``api.auth.keys_env``."""
    state = ApiState(cfg, service, monitor)
    api_keys = list(keys) if keys is not None else keys_from_env(cfg.api.auth.keys_env)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(state.close)

    app = FastAPI(
        title="LLM Twin API",
        version="1.0",
        description="Retrieval-augmented answers in the author's voice; OpenAI-compatible chat completions.",
        root_path=cfg.api.root_path,
        lifespan=lifespan,
    )
    app.state.api = state
    install_handlers(app)
    _include_routes(app, ui=cfg.api.ui)
    # outermost last: request id/recording -> auth -> body limit -> the app
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=cfg.api.limits.max_body_bytes)
    app.add_middleware(AuthMiddleware, keys=api_keys, enabled=cfg.api.auth.enabled)
    if cfg.api.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=cfg.api.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestContextMiddleware, state=state)
    return app


def _include_routes(app: FastAPI, *, ui: bool) -> None:
    """The routes in their documented order: ops, then ``/v1`` (key documented on each), then the UI pages."""
    app.include_router(system.router)
    # documentation only: the AuthMiddleware enforces the key before any body is read
    v1 = APIRouter(prefix="/v1", dependencies=[Security(_bearer), Security(_api_key)], responses=ERROR_RESPONSES)
    for router in (generate.router, openai.router, feedback.router, sources.router, system.monitoring_router):
        v1.include_router(router)
    app.include_router(v1)
    if ui:
        system.install_ui(app)
