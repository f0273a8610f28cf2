"""Airflow as a service on 127.0.0.1: api-server + scheduler + dag-processor, DAGs triggered over the REST API.

1. SQLite + LocalExecutor: trigger twin_etl with run conf, then ``backfill`` three weeks of it into a second
   warehouse (the same counts as the one full run), and read the UI plugin's page with the token.
2. Production topology: PostgreSQL metadata DB (a temporary database) + CeleryExecutor on Redis with a Celery
   worker; skipped with a plain reason when Postgres, Redis or the Celery provider is unavailable.
Every process started here runs in its own process group and is killed in a ``finally``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from twin_core.orchestration.dagspec import load_airflow_settings
from twin_core.orchestration.pools import pools_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
USER, PASSWORD = "twin", secrets.token_hex(8)
DEMO = ["crawl.allow_private_networks=true", "crawl.per_host_rate=50"]
WEEKS = ("2026-01-04", "2026-01-18")  # three weekly runs: logical dates Jan 4, 11, 18 (data to Jan 25)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class AirflowStack:
    """Airflow components as child process groups sharing one AIRFLOW_HOME, plus a REST client with a token."""

    def __init__(self, home: Path, extra_env: dict[str, str]) -> None:
        self.home, self.port = home, free_port()
        home.mkdir(parents=True, exist_ok=True)
        self.url = f"http://127.0.0.1:{self.port}"
        (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "TWIN_DATA_DIR": str(home / "twin-default"),
            "TWIN_PYTHON": sys.executable,
            **extra_env,
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.token = ""

    def cli(self, *args: str, timeout: float = 600) -> str:
        proc = subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert proc.returncode == 0, f"airflow {' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    def start(self, name: str, *args: str) -> None:
        with (self.home / f"{name}.log").open("wb") as log:
            self.procs[name] = subprocess.Popen(
                [str(BIN / "airflow"), *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        for sig, wait_s in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
            for proc in self.procs.values():
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
            deadline = time.monotonic() + wait_s
            for proc in self.procs.values():
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            if all(p.poll() is not None for p in self.procs.values()):
                return

    def logs(self, lines: int = 40) -> str:
        out = []
        for name in self.procs:
            text = (self.home / f"{name}.log").read_text(errors="replace").splitlines()
            out.append(f"--- {name} (exit {self.procs[name].poll()}) ---\n" + "\n".join(text[-lines:]))
        for task_log in sorted((self.home / "logs").rglob("*.log"))[-4:]:
            out.append(f"--- {task_log.relative_to(self.home)} ---\n" + task_log.read_text(errors="replace")[-3000:])
        return "\n".join(out)

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kw)

    def wait_ready(self, dag_ids: list[str], timeout: float = 240) -> None:
        """The API answers, a token is issued, and the DAG processor has serialized ``dag_ids``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            assert not dead, f"{dead} exited early\n{self.logs()}"
            with suppress(httpx.HTTPError):
                if not self.token:
                    r = httpx.post(f"{self.url}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=10)
                    self.token = r.json()["access_token"] if r.status_code == 201 else ""
                if self.token and all(self.api("GET", f"/api/v2/dags/{d}").status_code == 200 for d in dag_ids):
                    return
            time.sleep(2)
        raise AssertionError(f"Airflow not ready after {timeout}s\n{self.logs()}")

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        assert self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False}).status_code == 200
        r = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        assert r.status_code == 200, r.text
        return r.json()["dag_run_id"]

    def wait_runs(self, dag_id: str, run_ids: list[str], timeout: float = 300) -> None:
        deadline, states = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            states = {rid: self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{rid}").json()["state"] for rid in run_ids}
            assert "failed" not in states.values(), f"{states}\n{self.logs()}"
            if set(states.values()) == {"success"}:
                return
            time.sleep(2)
        raise AssertionError(f"runs of {dag_id} not done after {timeout}s: {states}\n{self.logs()}")

    def wait_for(self, check: Any, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"{what}: not after {timeout}s\n{self.logs()}"
            time.sleep(2)

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        r = self.api("GET", path, params={"deserialize": True, "stringify": False})
        assert r.status_code == 200, r.text
        return r.json()["value"]


@contextmanager
def airflow_stack(home: Path, extra_env: dict[str, str], worker: list[str] | None = None) -> Iterator[AirflowStack]:
    """Migrate, create the config's pools, start the components (and a worker); always stop them all."""
    stack = AirflowStack(home, extra_env)
    try:
        stack.cli("db", "migrate")
        (home / "pools.json").write_text(json.dumps(pools_json(load_airflow_settings())))
        stack.cli("pools", "import", str(home / "pools.json"))
        stack.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(stack.port))
        stack.start("dag-processor", "dag-processor")
        stack.start("scheduler", "scheduler")
        if worker:
            stack.start("worker", *worker)
        yield stack
    finally:
        stack.stop()
    alive = [n for n, p in stack.procs.items() if p.poll() is None]
    assert not alive, f"still running after stop: {alive}"


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from twin_core.demo.fixture_site import FixtureSite, build_git_repo, default_corpus_dir

    repo = build_git_repo(default_corpus_dir(), tmp_path_factory.mktemp("demo") / "hedgerow")
    with FixtureSite(port=0) as site:
        yield {"TWIN_DEMO_SITE": site.url, "TWIN_DEMO_REPO": str(repo)}


def warehouse_counts(data_dir: Path) -> dict[str, int]:
    from twin_core.warehouse import WarehouseSettings, connect

    with connect(WarehouseSettings(engine="embedded", path=data_dir / "warehouse")) as wh:
        return {k: v for k, v in wh.counts().items() if k in ("authors", "raw_documents")}


def full_run_overrides(data_dir: Path) -> list[str]:
    """One run over the backfill's whole span: the window keys (when configured) get the union of the weeks."""
    window = load_airflow_settings().task("etl").window
    span = [f"{window.start}={WEEKS[0]}T00:00:00+00:00", f"{window.end}=2026-01-25T00:00:00+00:00"] if window else []
    return [f"paths.data_dir={data_dir}", *DEMO, *span]


def test_rest_trigger_backfill_and_ui_plugin(tmp_path: Path, demo_site: dict[str, str]) -> None:
    full, weekly = tmp_path / "full", tmp_path / "weekly"
    with airflow_stack(tmp_path / "airflow", demo_site) as af:
        af.wait_ready(["twin_etl"])
        run_id = af.trigger("twin_etl", {"overrides": full_run_overrides(full)})
        af.wait_runs("twin_etl", [run_id])
        result = af.xcom("twin_etl", run_id, "etl")
        assert result["step"] == "etl" and result["ok"] is True
        # the crawl window is the three backfill weeks: the demo corpus publishes a few documents in them
        assert result["counts"]["warehouse_documents"] >= 1

        body = {
            "dag_id": "twin_etl",
            "from_date": f"{WEEKS[0]}T00:00:00Z",
            "to_date": f"{WEEKS[1]}T00:00:00Z",
            "max_active_runs": 1,
            "dag_run_conf": {"overrides": [f"paths.data_dir={weekly}", *DEMO]},
        }
        r = af.api("POST", "/api/v2/backfills", json=body)
        assert r.status_code == 200, r.text
        backfill_id = r.json()["id"]
        runs = af.api("GET", "/api/v2/dags/twin_etl/dagRuns", params={"run_type": "backfill"}).json()["dag_runs"]
        assert sorted(x["logical_date"][:10] for x in runs) == ["2026-01-04", "2026-01-11", "2026-01-18"]
        assert all(x["conf"]["overrides"][0] == f"paths.data_dir={weekly}" for x in runs)
        af.wait_runs("twin_etl", [x["dag_run_id"] for x in runs], timeout=360)
        intervals = {x["data_interval_start"][:10]: x["data_interval_end"][:10] for x in runs}
        assert intervals == {"2026-01-04": "2026-01-11", "2026-01-11": "2026-01-18", "2026-01-18": "2026-01-25"}
        af.wait_for(lambda: af.api("GET", f"/api/v2/backfills/{backfill_id}").json()["completed_at"], "backfill done")

        assert httpx.get(f"{af.url}/twin/", timeout=30).status_code == 401
        page = af.api("GET", "/twin/")
        assert page.status_code == 200 and "Model registry" in page.text and "Evaluation leaderboard" in page.text
        plugins = af.api("GET", "/api/v2/plugins").json()["plugins"]
        assert any(p["name"] == "llm_twin" and p["external_views"] for p in plugins)

    once, weekly_counts = warehouse_counts(full), warehouse_counts(weekly)
    print(f"\none full run: {once}; three weekly backfill runs: {weekly_counts}")
    assert once == weekly_counts and once["raw_documents"] >= 1


def _celery_unavailable() -> str | None:
    try:
        import celery  # noqa: F401
        import psycopg2  # noqa: F401
        from airflow.providers.celery.executors.celery_executor import CeleryExecutor  # noqa: F401
    except ImportError as exc:
        return f"apache-airflow-providers-celery / psycopg2 not installed ({exc})"
    if not reachable(5432):
        return "PostgreSQL is not reachable on 127.0.0.1:5432"
    if not reachable(6379):
        return "Redis is not reachable on 127.0.0.1:6379"
    return None


@contextmanager
def temporary_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg2

    name = f"twin_airflow_test_{secrets.token_hex(4)}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def redis_queue_keys_removed(queue: str) -> Iterator[None]:
    """Remove what Celery left in Redis for our private queue (bindings, messages)."""
    import redis

    try:
        yield
    finally:
        client = redis.Redis(host="127.0.0.1", port=6379, db=0)
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_production_topology_postgres_celery_redis(tmp_path: Path) -> None:
    reason = _celery_unavailable()
    if reason:
        pytest.skip(f"production topology not tested: {reason}")
    queue = f"twin_test_{secrets.token_hex(4)}"
    with temporary_database() as db, redis_queue_keys_removed(queue):
        env = {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": "redis://127.0.0.1:6379/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{db}",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,  # our own queue: other users of this Redis never see it
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        }
        worker = ["celery", "worker", "--queues", queue, "--concurrency", "2", "--skip-serve-logs"]
        with airflow_stack(tmp_path / "airflow", env, worker=worker) as af:
            af.wait_ready(["twin_foundation"])
            data = tmp_path / "celery-data"
            run_id = af.trigger("twin_foundation", {"overrides": f"paths.data_dir={data} run_name=celery"})
            af.wait_runs("twin_foundation", [run_id])
            status = af.xcom("twin_foundation", run_id, "status")
            assert status["step"] == "status" and status["artifacts"]["warehouse"] == str(data / "warehouse")
            assert (data / "warehouse").is_dir() and (data / "vectors").is_dir()
            worker_log = (af.home / "worker.log").read_text(errors="replace")
            assert "celery@" in worker_log and queue in worker_log
