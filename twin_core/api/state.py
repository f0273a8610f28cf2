"""What the routes share (``app.state.api``): settings, the RAG service and the prompt monitor, built on first use."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from twin_core.api.errors import ApiError
from twin_core.api.service_errors import map_error

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.api")


class ApiState:
    """What the routes share: settings, keys, the RAG service and prompt monitor (both built on first use)."""

    def __init__(self, cfg: TwinSettings, service: Any = None, monitor: Any = None) -> None:
        self.cfg = cfg
        self._service = service
        self._monitor = monitor
        self._monitor_failed = False
        self._lock = threading.Lock()
        self.started = time.time()
        self.in_flight: dict[str, threading.Event] = {}  # request id -> set once its prompt log is recorded

    def wait_recorded(self, request_id: str, timeout_s: float = 10.0) -> None:
        """Wait until a request still in flight (e.g. a stream just finished) has been recorded."""
        event = self.in_flight.get(request_id)
        if event is not None:
            event.wait(timeout_s)

    def service(self) -> Any:
        """The RagService (built on first use; a failure to build is a 503 and is retried next time)."""
        if self._service is not None:
            return self._service
        with self._lock:
            if self._service is None:
                from twin_core.rag.service import RagService

                try:
                    self._service = RagService.from_settings(self.cfg)
                except Exception as exc:
                    raise map_error(exc) or ApiError(
                        503, f"the RAG service could not start: {type(exc).__name__}: {exc}", type="model_unavailable"
                    ) from exc
        return self._service

    def monitor(self) -> Any:
        """The PromptMonitor (None when monitoring is off or its module is missing)."""
        if self._monitor is not None or self._monitor_failed or not self.cfg.monitoring.enabled:
            return self._monitor
        with self._lock:
            if self._monitor is None and not self._monitor_failed:
                try:
                    from twin_core.monitoring.monitor import PromptMonitor

                    self._monitor = PromptMonitor(self.cfg.monitoring, self.cfg.warehouse)
                except Exception as exc:
                    self._monitor_failed = True
                    log.warning("prompt monitoring unavailable: %s", exc)
        return self._monitor

    def close(self) -> None:
        for part in (self._monitor, self._service):
            close = getattr(part, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:  # closing must never mask the shutdown
                    log.warning("close failed: %s", exc)


async def api_state(request: Request) -> ApiState:
    """The app's :class:`ApiState` (a route dependency)."""
    state: ApiState = request.app.state.api
    return state


#: A route parameter ``state: State`` receives the app's ApiState.
State = Annotated[ApiState, Depends(api_state)]
