"""The compose files validate with no Docker engine: ``docker-compose config`` (Debian's v1, from make setup)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose not installed (make setup installs Debian's as root): compose not validated"
)
LONG_RUNNING = {
    "mongodb", "weaviate", "postgres", "redis", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
    "airflow-triggerer", "airflow-worker", "triton", "api",
}  # fmt: skip


def config(*overlays: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The merged, interpolated configuration of compose.yaml plus overlays, as docker-compose renders it."""
    files = [arg for name in ("compose.yaml", *overlays) for arg in ("-f", str(DOCKER / name))]
    cmd = [str(COMPOSE), "--env-file", str(DOCKER / ".env.example"), *files, "config"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "WEAVIATE_", "TWIN_", "AIRFLOW_"))}
    result = subprocess.run(cmd, capture_output=True, text=True, env=clean | (env or {}), cwd=ROOT, timeout=60)
    assert result.returncode == 0, f"docker-compose config {' '.join(overlays)} failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def target(entry: str | dict[str, Any]) -> str:
    """The container side of a port or volume entry (v1 renders strings, v2 mappings)."""
    if isinstance(entry, dict):
        return str(entry["target"])
    parts = entry.split(":")
    return (parts[-2] if parts[-1] in ("rw", "ro") else parts[-1]).removesuffix("/tcp")


@needs_compose
def test_base_stack_validates_with_health_checks_and_volumes() -> None:
    c = config()
    services = c["services"]
    assert LONG_RUNNING | {"airflow-init", "twin"} == set(services)
    for name in LONG_RUNNING:
        assert "healthcheck" in services[name], f"{name}: no health check"
        assert services[name].get("restart") == "unless-stopped", f"{name}: not restarted"
    assert services["mongodb"]["command"] == ["mongod", "--replSet", "rs0", "--bind_ip_all"]
    assert services["api"]["command"] == ["twin", "api"]
    assert services["api"]["environment"]["MONGODB_URI"] == "mongodb://mongodb:27017/?replicaSet=rs0"
    assert services["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert services["airflow-worker"]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert {target(p) for p in services["triton"]["ports"]} == {"8000", "8001", "8002"}
    assert services["triton"]["environment"]["TRITON_MODEL_REPOSITORY"] == "/data/triton_repo"
    data_users = [n for n, s in services.items() if any(target(v) == "/data" for v in s.get("volumes", []))]
    assert {"api", "triton", "airflow-worker", "twin"} <= set(data_users)
    assert {"mongo-data", "weaviate-data", "postgres-data", "twin-data"} <= set(c["volumes"])


@needs_compose
def test_scale_overlay_replicates_mongodb_and_weaviate() -> None:
    services = config("compose.scale.yaml")["services"]
    assert {"mongodb-2", "mongodb-3", "weaviate-1", "weaviate-2"} <= set(services)
    assert services["mongodb"]["environment"]["MONGO_RS_MEMBERS"] == "mongodb:27017,mongodb-2:27017,mongodb-3:27017"
    for node in ("weaviate", "weaviate-1", "weaviate-2"):
        env = services[node]["environment"]
        assert env["RAFT_JOIN"] == "weaviate-0,weaviate-1,weaviate-2" and env["RAFT_BOOTSTRAP_EXPECT"] == "3"
        assert env["REPLICATION_MINIMUM_FACTOR"] == "3"
    worker = services["airflow-worker"]["environment"]
    assert worker["MONGODB_URI"].startswith("mongodb://mongodb:27017,mongodb-2:27017,mongodb-3:27017/")
    assert worker["TWIN_WEAVIATE_REPLICATION"] == "3" and worker["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


@needs_compose
def test_gpu_overlay_reserves_gpus_and_builds_engines() -> None:
    services = config("compose.scale.yaml", "compose.gpu.yaml")["services"]
    for name in ("triton", "airflow-worker", "engine", "twin-cuda"):
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert services["engine"]["command"] == ["twin", "step", "engine", "serving=gpu"]
    assert services["airflow-worker"]["build"]["args"]["TWIN_IMAGE"] == "llm-twin:0.1.0-cuda"


@needs_compose
def test_missing_secret_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    clean = {k: v for k, v in os.environ.items() if "WEAVIATE" not in k and "AIRFLOW" not in k and "TWIN_" not in k}
    cmd = [str(COMPOSE), "--env-file", str(empty), "-f", str(DOCKER / "compose.yaml"), "config"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=clean, cwd=ROOT)
    assert result.returncode != 0 and "set WEAVIATE_API_KEY in docker/.env" in result.stderr + result.stdout
