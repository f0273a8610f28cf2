"""Collection trigger: in-process (one background run at a time) and through Airflow 3's REST API.

Airflow's API server is an outside boundary here: FakeAirflowAPI is a small local HTTP server playing its
``/auth/token`` and ``/api/v2/dags/{dag_id}/dagRuns`` endpoints (the real server is covered by
tests/integration/test_airflow_server.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from twin_core.api import collection
from twin_core.api.collection import CollectionError, collection_mode, collection_status, trigger_collection, wait
from twin_core.warehouse import connect


class FakeAirflowAPI:
    """A fake of Airflow 3's REST API (the outside boundary): JWT login, DAG lookup, dagRuns create/get."""

    def __init__(self, user: str = "admin", password: str = "pw", dag_id: str = "twin_end_to_end") -> None:
        self.user, self.password, self.dag_id = user, password, dag_id
        self.calls: list[tuple[str, str, dict[str, Any] | None, str | None]] = []
        self.runs: dict[str, dict[str, Any]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict[str, Any] | None:
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n)) if n else None

            def do_POST(self) -> None:
                body = self._body()
                fake.calls.append(("POST", self.path, body, self.headers.get("Authorization")))
                if self.path == "/auth/token":
                    if body == {"username": fake.user, "password": fake.password}:
                        return self._send(201, {"access_token": "jwt-123"})
                    return self._send(401, {"detail": "Invalid credentials"})
                if not self._authorised():
                    return None
                if self.path == f"/api/v2/dags/{fake.dag_id}/dagRuns":
                    run_id = f"manual__2026-01-05T12:00:0{len(fake.runs)}+00:00"
                    run = {"dag_run_id": run_id, "dag_id": fake.dag_id, "state": "queued", "conf": body["conf"],
                           "logical_date": body["logical_date"], "queued_at": "2026-01-05T12:00:00Z"}  # fmt: skip
                    fake.runs[run_id] = run
                    return self._send(200, run)
                return self._send(404, {"detail": f"The Dag with ID: `{self.path}` was not found"})

            def do_GET(self) -> None:
                fake.calls.append(("GET", self.path, None, self.headers.get("Authorization")))
                if not self._authorised():
                    return None
                prefix = f"/api/v2/dags/{fake.dag_id}"
                if self.path == prefix:
                    return self._send(200, {"dag_id": fake.dag_id, "is_paused": False})
                if self.path.startswith(prefix + "/dagRuns/"):
                    from urllib.parse import unquote

                    run = fake.runs.get(unquote(self.path.removeprefix(prefix + "/dagRuns/")))
                    if run:
                        return self._send(200, {**run, "state": "success", "end_date": "2026-01-05T12:05:00Z"})
                return self._send(404, {"detail": "not found"})

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != "Bearer jwt-123":
                    self._send(401, {"detail": "Not authenticated"})
                    return False
                return True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAirflowAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(autouse=True)
def _fresh_runs() -> Iterator[None]:
    collection._runs.clear()
    collection._current.update(run_id=None, latest=None)
    yield
    for name in list(collection._runs):
        wait(name, 30)


def test_mode_follows_settings(make_settings: Callable[..., Any]) -> None:
    assert collection_mode(make_settings().api.collection) == "in_process"
    assert collection_mode(make_settings("api.collection.airflow_url=http://af:8080").api.collection) == "airflow"
    forced = make_settings("api.collection.airflow_url=http://af:8080", "api.collection.mode=in_process")
    assert collection_mode(forced.api.collection) == "in_process"
    with pytest.raises(CollectionError, match="airflow_url"):
        collection_mode(make_settings("api.collection.mode=airflow").api.collection)


def test_in_process_runs_the_steps_once_at_a_time(make_settings: Callable[..., Any], monkeypatch: Any) -> None:
    cfg = make_settings("api.collection.steps=[init,status]")
    gate = threading.Event()
    from twin_core.pipeline import runner

    real = runner.run_steps

    def slow_run_steps(steps: Any, c: Any, **kw: Any) -> Any:
        gate.wait(10)
        return real(steps, c, **kw)

    monkeypatch.setattr(runner, "run_steps", slow_run_steps)
    run = trigger_collection(cfg, "added a link")
    assert run["mode"] == "in_process" and run["state"] == "running" and run["steps"] == ["init", "status"]
    second = trigger_collection(cfg, "clicked twice")
    assert second["run_id"] == run["run_id"] and second["state"] == "running" and second["already_running"]
    assert collection_status()["run_id"] == run["run_id"]
    gate.set()
    done = wait(run["run_id"], 60)
    assert done["state"] == "success" and [r["step"] for r in done["results"]] == ["init", "status"]
    assert done["reason"] == "added a link" and done["finished_at"] and done["error"] is None
    with connect(cfg.warehouse) as wh:
        stored = wh.get(collection.RUNS_COLLECTION, run["run_id"])
    assert stored["state"] == "success"
    collection._runs.clear()  # a restarted API process: the warehouse still knows
    assert collection_status(run["run_id"], cfg)["state"] == "success"
    assert collection_status("nope")["state"] == "unknown"
    third = trigger_collection(cfg, "again")
    assert third["run_id"] != run["run_id"]


def test_in_process_failure_is_recorded(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("api.collection.steps=[no_such_step]")
    run = trigger_collection(cfg, "x")
    deadline = time.monotonic() + 30
    while collection_status(run["run_id"])["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    status = collection_status(run["run_id"])
    assert status["state"] == "failed" and "no_such_step" in status["error"]


def test_airflow_token_then_dag_run(make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_AIRFLOW_USER", "admin")
    monkeypatch.setenv("TWIN_AIRFLOW_PASSWORD", "pw")
    with FakeAirflowAPI() as airflow:
        cfg = make_settings(f"api.collection.airflow_url={airflow.url}/")
        run = trigger_collection(cfg, "new links from the sources page")
        assert run["mode"] == "airflow" and run["state"] == "queued" and run["dag_id"] == "twin_end_to_end"
        assert run["run_id"].startswith("manual__") and not run["dag_paused"]
        token, dag, post = airflow.calls[:3]
        assert token == ("POST", "/auth/token", {"username": "admin", "password": "pw"}, None)
        assert dag[:2] == ("GET", "/api/v2/dags/twin_end_to_end") and dag[3] == "Bearer jwt-123"
        assert post == (
            "POST",
            "/api/v2/dags/twin_end_to_end/dagRuns",
            {"logical_date": None, "conf": {"reason": "new links from the sources page"}},
            "Bearer jwt-123",
        )
        status = collection_status(run["run_id"], cfg)
        assert status["state"] == "success" and status["finished_at"] == "2026-01-05T12:05:00Z"
        assert airflow.calls[-1][1].startswith("/api/v2/dags/twin_end_to_end/dagRuns/manual__")


def test_airflow_errors_name_the_url_and_dag(
    make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeAirflowAPI() as airflow:
        cfg = make_settings(f"api.collection.airflow_url={airflow.url}")
        with pytest.raises(CollectionError, match="set \\$TWIN_AIRFLOW_USER and \\$TWIN_AIRFLOW_PASSWORD"):
            trigger_collection(cfg, "x")
        monkeypatch.setenv("TWIN_AIRFLOW_USER", "admin")
        monkeypatch.setenv("TWIN_AIRFLOW_PASSWORD", "wrong")
        with pytest.raises(CollectionError, match=f"{airflow.url}/auth/token refused .*HTTP 401"):
            trigger_collection(cfg, "x")
        monkeypatch.setenv("TWIN_AIRFLOW_PASSWORD", "pw")
        missing = make_settings(f"api.collection.airflow_url={airflow.url}", "api.collection.airflow_dag_id=nope")
        with pytest.raises(CollectionError, match=r"DAG 'nope'.*/api/v2/dags/nope not found \(HTTP 404"):
            trigger_collection(missing, "x")
        url = airflow.url
    with pytest.raises(CollectionError, match=f"Airflow at {url} .*DAG 'twin_end_to_end'.*unreachable"):
        trigger_collection(cfg, "x")
