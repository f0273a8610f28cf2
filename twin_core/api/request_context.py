"""Each request's context: its id (``X-Request-ID``), a JSON 500 for a crash, Prometheus counts, and its prompt log.

Routes add prompt-log fields to ``request.state.log`` (query, answer, sources, latency, ...); once the response is
sent, every ``/v1`` request is recorded as a :class:`~twin_core.monitoring.records.PromptLog` by the prompt monitor
(which also counts it in Prometheus); other requests are only counted.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from typing import Any

import anyio
from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin_core.api.errors import error_bytes
from twin_core.api.state import ApiState

log = logging.getLogger("twin.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def endpoint_of(scope: Scope) -> str:
    """The route template (``/v1/sources/collection/{run_id}``), also for requests refused before routing."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return str(route.path)
    app = scope.get("app")
    for candidate in getattr(getattr(app, "router", None), "routes", []):
        try:
            if candidate.matches(scope)[0] == Match.FULL and getattr(candidate, "path", None):
                return str(candidate.path)
        except Exception:  # a mount or an odd scope: fall through
            continue
    return "/static" if str(scope.get("path", "")).startswith("/static/") else "unmatched"


def observe(endpoint: str, status: int, seconds: float) -> None:
    """Count a request in Prometheus (never raises)."""
    try:
        from twin_core.monitoring import metrics
    except ImportError:
        return
    try:
        metrics.observe_request(endpoint, str(status), seconds)
    except Exception as exc:
        log.warning("metrics failed: %s", exc)


def prompt_log(fields: dict[str, Any]) -> Any:
    """A PromptLog of the known, non-None ``fields``."""
    from twin_core.monitoring.records import PromptLog

    known = set(PromptLog.model_fields)
    return PromptLog.model_validate({k: v for k, v in fields.items() if k in known and v is not None})


def record(state: ApiState, scope: Scope, request_id: str, endpoint: str, status: int, seconds: float) -> None:
    """Record a finished ``/v1`` request with the prompt monitor (only counted when monitoring is off)."""
    monitor = state.monitor()
    if monitor is None:
        observe(endpoint, status, seconds)
        return
    fields = dict(scope.get("state", {}).get("log") or {})
    latency = {k: v for k, v in (fields.pop("latency", None) or {}).items() if v is not None}
    latency["total_s"] = round(seconds, 4)
    failed = status >= 400 or bool(fields.get("error"))
    fields |= {
        "request_id": request_id,
        "endpoint": endpoint,
        "status": "error" if failed else "ok",
        "http_status": status,
        "latency": latency,
    }
    try:
        monitor.record(prompt_log(fields))
    except Exception as exc:  # monitoring never fails a request
        log.warning("prompt log not recorded: %s", exc, extra={"request_id": request_id})


class RequestContextMiddleware:
    """Gives each request an id (``X-Request-ID``), turns crashes into JSON 500s, and records every request."""

    def __init__(self, app: ASGIApp, state: ApiState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"x-request-id"), "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        st = scope.setdefault("state", {})
        st["request_id"] = request_id
        st["log"] = {}
        recorded = self.state.in_flight.setdefault(request_id, threading.Event())
        started = time.perf_counter()
        status, response_started = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = int(message["status"]), True
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.exception("unhandled error", extra={"request_id": request_id, "path": scope.get("path")})
            st["log"]["error"] = f"{type(exc).__name__}: {exc}"
            if not response_started:
                body = error_bytes(500, f"internal error (request {request_id})", "internal_error")
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                ]
                await send({"type": "http.response.start", "status": 500, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                status = 500
        finally:
            seconds = time.perf_counter() - started
            endpoint = endpoint_of(scope)
            try:
                if str(scope.get("path", "")).startswith("/v1/"):  # the monitor counts it in Prometheus too
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(record, self.state, scope, request_id, endpoint, status, seconds)
                else:
                    observe(endpoint, status, seconds)
            finally:
                recorded.set()
                self.state.in_flight.pop(request_id, None)
