"""Triton's HTTP control API by URL: health, model load/unload (explicit model control), repository index."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

log = logging.getLogger("twin.serving.triton")


class TritonServerError(RuntimeError):
    """The server did not start, did not become ready, or refused a model-control call."""


class TritonAdmin:
    """Control calls to a running Triton at ``http_url`` (whoever started it)."""

    def __init__(self, http_url: str) -> None:
        self._admin_url = http_url.rstrip("/")

    @property
    def http_url(self) -> str:
        """``http://host:port`` of the server."""
        return self._admin_url

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> int:
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(f"{self.http_url}{path}", data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise TritonServerError(f"{method} {path} -> {exc.code}: {detail}") from exc

    def is_ready(self) -> bool:
        """Whether the server answers ``/v2/health/ready`` with 200."""
        try:
            return self._request("GET", "/v2/health/ready", timeout=1.0) == 200
        except (OSError, TritonServerError):
            return False

    def is_model_ready(self, model: str, version: str = "") -> bool:
        """Whether ``model`` (or one of its versions) is loaded and ready."""
        path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/ready"
        try:
            return self._request("GET", path, timeout=2.0) == 200
        except (OSError, TritonServerError):
            return False

    def load(self, model: str, *, config: dict[str, Any] | None = None, timeout_s: float = 300.0) -> None:
        """Load (or reload: new versions first, old ones drained) ``model``; needs explicit model control."""
        body = {"parameters": {"config": json.dumps(config)}} if config else None
        started = time.perf_counter()
        self._request("POST", f"/v2/repository/models/{model}/load", body, timeout=timeout_s)
        log.info("model loaded model=%s seconds=%.2f", model, time.perf_counter() - started)

    def unload(self, model: str, *, timeout_s: float = 60.0) -> None:
        """Unload ``model``; in-flight requests finish first."""
        self._request("POST", f"/v2/repository/models/{model}/unload", None, timeout=timeout_s)
        log.info("model unloaded model=%s", model)

    def repository_index(self) -> list[dict[str, Any]]:
        """Models in the repository with their version and state."""
        req = urllib.request.Request(f"{self.http_url}/v2/repository/index", data=b"{}", method="POST")
        with urllib.request.urlopen(req, timeout=5.0) as resp:
            return list(json.loads(resp.read() or b"[]"))

    def ready_versions(self, model: str) -> list[int]:
        """Versions of ``model`` in state READY, ascending."""
        rows = self.repository_index()
        return sorted(int(m["version"]) for m in rows if m.get("name") == model and m.get("state") == "READY")
