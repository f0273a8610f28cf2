"""Trigger data collection from the sources page: Airflow's REST API when configured, in-process otherwise.

Airflow (3.x): ``POST {airflow_url}/auth/token`` with ``{"username", "password"}`` (read from the environment
variables ``api.collection.airflow_user_env`` / ``airflow_password_env``) gives ``{"access_token"}``; then
``POST {airflow_url}/api/v2/dags/{dag_id}/dagRuns`` with ``{"logical_date": null, "conf": {"reason": ...}}`` and
``Authorization: Bearer <token>`` starts a run; ``GET .../dagRuns/{run_id}`` reports its state.

In-process: one background thread at a time runs ``api.collection.steps`` with the step runner; a trigger while one
runs returns the running one (no duplicate). Runs are kept in memory and in the warehouse collection
``collection_runs``.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

if TYPE_CHECKING:
    from twin_core.api.settings import CollectionSettings
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.api")
RUNS_COLLECTION = "collection_runs"
TIMEOUT_S = 15.0

_lock = threading.Lock()
_runs: dict[str, dict[str, Any]] = {}
_current: dict[str, str | None] = {"run_id": None, "latest": None}


class CollectionError(RuntimeError):
    """Collection could not be triggered or queried (the message names the URL and the DAG)."""


def collection_mode(settings: CollectionSettings) -> str:
    """``airflow`` or ``in_process`` (``auto``: Airflow when ``airflow_url`` is set)."""
    if settings.mode == "airflow" and not settings.airflow_url:
        raise CollectionError("api.collection.mode=airflow needs api.collection.airflow_url")
    if settings.mode == "auto":
        return "airflow" if settings.airflow_url else "in_process"
    return settings.mode


def trigger_collection(cfg: TwinSettings, reason: str) -> dict[str, Any]:
    """Start collection; returns ``{"mode", "run_id", "state", ...}`` (an in-process run already going: that one)."""
    reason = (reason or "sources page").strip()[:500]
    if collection_mode(cfg.api.collection) == "airflow":
        with AirflowClient(cfg.api.collection) as airflow:
            run = airflow.trigger(reason)
        _remember(run, cfg)
        return dict(run)
    return _start_in_process(cfg, reason)


def collection_status(run_id: str | None = None, cfg: TwinSettings | None = None) -> dict[str, Any]:
    """A run's state (the latest run when ``run_id`` is None); Airflow runs are asked of Airflow when ``cfg`` is given.

    Unknown here but given ``cfg``: the warehouse record. Nothing known: ``{"run_id": None, "state": "none"}``
    (or ``"unknown"`` for a given id).
    """
    with _lock:
        run_id = run_id or _current["latest"]
        run = dict(_runs[run_id]) if run_id in _runs else None
    if run is None and run_id and cfg is not None:
        run = _stored(cfg, run_id)
    if run is None:
        return {"run_id": run_id, "state": "unknown" if run_id else "none"}
    if run.get("mode") == "airflow" and cfg is not None and run.get("state") not in ("success", "failed"):
        with AirflowClient(cfg.api.collection) as airflow:
            fresh = airflow.status(run["run_id"])
        run.update(fresh)
        _remember(run, cfg)
    return run


# in-process


def _start_in_process(cfg: TwinSettings, reason: str) -> dict[str, Any]:
    with _lock:
        running = _current["run_id"]
        if running and _runs[running]["state"] in ("queued", "running"):
            log.info("collection already running", extra={"run_id": running})
            return {**_runs[running], "state": "running", "already_running": True}
        run_id = f"collect_{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"
        run = {
            "mode": "in_process",
            "run_id": run_id,
            "state": "running",
            "reason": reason,
            "steps": list(cfg.api.collection.steps),
            "started_at": _now(),
            "finished_at": None,
            "results": [],
            "error": None,
        }
        _runs[run_id] = run
        _current["run_id"] = _current["latest"] = run_id
    _save(cfg, run)
    thread = threading.Thread(target=_work, args=(cfg, run_id), name=f"twin-collect-{run_id}", daemon=True)
    thread.start()
    log.info("collection started", extra={"run_id": run_id, "mode": "in_process", "steps": run["steps"]})
    return dict(run)


def _work(cfg: TwinSettings, run_id: str) -> None:
    from twin_core.pipeline.runner import StepFailed, run_steps

    steps = _runs[run_id]["steps"]
    results, error = [], None
    try:
        results = run_steps(steps, cfg)
        state = "success"
    except StepFailed as exc:
        results, state, error = exc.results, "failed", str(exc)
    except Exception as exc:  # the thread must always record an end
        log.exception("collection run %s raised", run_id)
        state, error = "failed", f"{type(exc).__name__}: {exc}"
    summary = [{"step": r.step, "ok": r.ok, "message": r.message, "counts": r.counts} for r in results]
    with _lock:
        _runs[run_id].update(state=state, finished_at=_now(), results=summary, error=error)
        run = dict(_runs[run_id])
        if _current["run_id"] == run_id:
            _current["run_id"] = None
    _save(cfg, run)
    log.info("collection finished", extra={"run_id": run_id, "state": state})


def wait(run_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Block until an in-process run ends (tests, the CLI); returns its status."""
    for thread in threading.enumerate():
        if thread.name == f"twin-collect-{run_id}":
            thread.join(timeout_s)
    return collection_status(run_id)


def _remember(run: dict[str, Any], cfg: TwinSettings) -> None:
    with _lock:
        _runs[run["run_id"]] = dict(run)
        _current["latest"] = run["run_id"]
    _save(cfg, run)


def _save(cfg: TwinSettings, run: dict[str, Any]) -> None:
    from twin_core.warehouse import connect

    try:
        with connect(cfg.warehouse) as wh:
            wh.put(RUNS_COLLECTION, run["run_id"], run)
    except Exception as exc:  # the status stays in memory; the trigger must not fail for a record
        log.warning("collection run %s not recorded in the warehouse: %s", run["run_id"], exc)


def _stored(cfg: TwinSettings, run_id: str) -> dict[str, Any] | None:
    from twin_core.warehouse import connect

    with connect(cfg.warehouse) as wh:
        doc = wh.get(RUNS_COLLECTION, run_id)
    if doc:
        doc.pop("_id", None)
    return doc


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# Airflow


class AirflowClient:
    """The two Airflow 3 REST calls collection needs (a JWT from ``/auth/token``, then ``/api/v2`` dagRuns)."""

    def __init__(self, settings: CollectionSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.airflow_url:
            raise CollectionError("api.collection.airflow_url is not set")
        self.url = settings.airflow_url.rstrip("/")
        self.dag_id = settings.airflow_dag_id
        self.settings = settings
        self._http = httpx.Client(timeout=TIMEOUT_S, transport=transport)

    def _where(self) -> str:
        return f"Airflow at {self.url} (DAG {self.dag_id!r})"

    def token(self) -> str:
        """A JWT for the user named by the environment; a clear error when the env vars or credentials are wrong."""
        user = os.environ.get(self.settings.airflow_user_env)
        password = os.environ.get(self.settings.airflow_password_env)
        if not user or not password:
            raise CollectionError(
                f"{self._where()}: set ${self.settings.airflow_user_env} and ${self.settings.airflow_password_env} "
                "to an Airflow user's name and password"
            )
        r = self._request("POST", "/auth/token", json={"username": user, "password": password})
        if r.status_code in (401, 403):
            raise CollectionError(
                f"{self._where()}: {self.url}/auth/token refused the credentials of "
                f"${self.settings.airflow_user_env} (HTTP {r.status_code})"
            )
        self._check(r, "/auth/token")
        token = r.json().get("access_token")
        if not token:
            raise CollectionError(f"{self._where()}: {self.url}/auth/token answered without an access_token")
        return str(token)

    def trigger(self, reason: str) -> dict[str, Any]:
        """Start a run of the DAG with ``conf={"reason": reason}``; returns the run's status dict."""
        headers = {"Authorization": f"Bearer {self.token()}"}
        dag_path = f"/api/v2/dags/{quote(self.dag_id, safe='')}"
        r = self._request("GET", dag_path, headers=headers)
        self._check(r, dag_path)
        paused = bool(r.json().get("is_paused"))
        path = f"{dag_path}/dagRuns"
        r = self._request("POST", path, headers=headers, json={"logical_date": None, "conf": {"reason": reason}})
        self._check(r, path)
        run = self._run(r.json())
        run.update(reason=reason, dag_paused=paused)
        if paused:
            run["warning"] = f"DAG {self.dag_id!r} is paused in Airflow: the run stays queued until it is unpaused"
        log.info("collection triggered in Airflow", extra={"run_id": run["run_id"], "dag_id": self.dag_id})
        return run

    def status(self, run_id: str) -> dict[str, Any]:
        """The run's current state as Airflow reports it."""
        headers = {"Authorization": f"Bearer {self.token()}"}
        path = f"/api/v2/dags/{quote(self.dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
        r = self._request("GET", path, headers=headers)
        self._check(r, path)
        return self._run(r.json())

    def _run(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "mode": "airflow",
            "run_id": body.get("dag_run_id") or body.get("run_id"),
            "state": body.get("state") or "queued",
            "dag_id": self.dag_id,
            "airflow_url": self.url,
            "started_at": body.get("start_date") or body.get("queued_at"),
            "finished_at": body.get("end_date"),
        }

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self._http.request(method, self.url + path, **kw)
        except httpx.HTTPError as exc:
            raise CollectionError(
                f"{self._where()}: {self.url}{path} unreachable ({type(exc).__name__}: {exc})"
            ) from exc

    def _check(self, r: httpx.Response, path: str) -> None:
        if r.is_success:
            return
        detail = r.text[:300].replace("\n", " ")
        if r.status_code == 404:
            raise CollectionError(
                f"{self._where()}: {self.url}{path} not found (HTTP 404: is the DAG deployed?) {detail}"
            )
        if r.status_code in (401, 403):
            raise CollectionError(
                f"{self._where()}: {self.url}{path} refused the token (HTTP {r.status_code}) {detail}"
            )
        raise CollectionError(f"{self._where()}: {self.url}{path} answered HTTP {r.status_code}: {detail}")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AirflowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
