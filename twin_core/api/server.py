"""Run the API: ``twin api`` (uvicorn in the foreground) and :class:`ApiServer` (a background thread, for tests and
the ``ask`` step).

    TWIN_API_KEYS=key1,key2 twin api api.port=9000
    twin api                      # no key in the env: one is generated and printed once (never logged)
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

from twin_core.api.auth import generate_key, keys_from_env

if TYPE_CHECKING:
    from fastapi import FastAPI

    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.api")


def resolve_keys(cfg: TwinSettings, keys: Sequence[str] | None = None) -> tuple[list[str], bool]:
    """(keys, generated): the given keys, else the env var's, else a fresh one when ``generate_if_unset``."""
    if keys is not None:
        return list(keys), False
    found = keys_from_env(cfg.api.auth.keys_env)
    if found or not cfg.api.auth.enabled or not cfg.api.auth.generate_if_unset:
        return found, False
    return [generate_key()], True


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


class ApiServer:
    """The API on ``host:port`` (0: a free port) in a background thread; a context manager that stops it.

    ``keys``: the accepted keys (None: the env var's, else one generated); ``key`` is the first, ``url`` the base.
    """

    def __init__(
        self,
        cfg: TwinSettings,
        host: str = "127.0.0.1",
        port: int = 0,
        keys: Sequence[str] | None = None,
        *,
        service: Any = None,
        monitor: Any = None,
        startup_timeout_s: float = 30.0,
    ) -> None:
        self.cfg = cfg
        self.host = host
        self.requested_port = port
        self.keys, self.generated_key = resolve_keys(cfg, keys)
        self.service, self.monitor = service, monitor
        self.startup_timeout_s = startup_timeout_s
        self.port: int | None = None
        self.app: FastAPI | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def key(self) -> str | None:
        return self.keys[0] if self.keys else None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("ApiServer is not started")
        return _url(self.host, self.port)

    def headers(self) -> dict[str, str]:
        """The auth header for requests to this server."""
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def start(self) -> Self:
        import uvicorn

        from twin_core.api.app import create_app

        self.app = create_app(self.cfg, service=self.service, monitor=self.monitor, keys=self.keys)
        sock = _bind(self.host, self.requested_port)
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign] # not the main thread

        def run() -> None:
            try:
                self._server.run(sockets=[sock])
            except BaseException as exc:  # reported by start()
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"twin-api-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the API server did not start on {self.url}: {self._error}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the API server did not start within {self.startup_timeout_s:.0f}s")
            time.sleep(0.02)
        log.info("api started", extra={"url": self.url})
        return self

    def stop(self, timeout_s: float = 15.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(5)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(cfg: TwinSettings) -> int:
    """``twin api``: the API and web UI with uvicorn in the foreground until Ctrl-C."""
    import uvicorn

    from twin_core.api.app import create_app

    a = cfg.api
    keys, generated = resolve_keys(cfg)
    if a.auth.enabled and not keys:
        print(
            f"warning: no API key in ${a.auth.keys_env} and api.auth.generate_if_unset=false: every /v1 request "
            "will be refused (401)",
            file=sys.stderr,
        )
    if a.workers > 1:
        print("note: api.workers > 1 is not supported by `twin api`; serving with one worker", file=sys.stderr)
    app = create_app(cfg, keys=keys)
    try:
        sock = _bind(a.host, a.port)
    except OSError as exc:
        print(f"error: cannot listen on {a.host}:{a.port}: {exc}", file=sys.stderr)
        return 1
    url = _url(a.host, int(sock.getsockname()[1]))
    print(f"LLM Twin API on {url}/  (chat UI; sources at {url}/sources, OpenAPI docs at {url}/docs)")
    print(f"  OpenAI-compatible: {url}/v1/chat/completions   health: {url}/health   metrics: {url}/metrics")
    if generated:
        # printed once to the console for local use, never logged
        print(f"  API key (generated, shown once; set ${a.auth.keys_env} to choose your own): {keys[0]}")
    elif a.auth.enabled:
        print(f"  API keys: from ${a.auth.keys_env} ({len(keys)})")
    print("Ctrl-C stops it.", flush=True)
    config = uvicorn.Config(app, log_level="info", access_log=False, lifespan="on", root_path=a.root_path)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


def main(overrides: Sequence[str] = ()) -> int:
    """``twin api [key=value ...]``."""
    from twin_core.config.loader import load_settings

    cfg = load_settings(list(overrides))
    return serve(cfg)
