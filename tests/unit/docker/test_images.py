"""Every command the images and the compose files run exists in the project: scripts, console scripts, CLI verbs."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DOCKER = ROOT / "docker"
DOCKERFILES = sorted(DOCKER.glob("Dockerfile.*"))
COMPOSE_FILES = sorted(DOCKER.glob("compose*.yaml"))
SCRIPTS = {"twin": "twin_core.cli:main"} | tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
AIRFLOW_VERBS = {"api-server", "scheduler", "dag-processor", "triggerer", "celery", "db", "jobs", "pools"}
UPSTREAM = {  # programs of the upstream images used as they are
    "mongo": {"mongod", "mongosh", "bash"},
    "cr.weaviate.io/semitechnologies/weaviate": {"wget", "--host"},
    "postgres": {"pg_isready"},
    "redis": {"redis-server", "redis-cli"},
}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def exec_form(dockerfile: Path, name: str) -> list[str] | None:
    """The last ENTRYPOINT or CMD, which must be in exec (JSON) form."""
    found = [args for inst, args in instructions(dockerfile) if inst == name]
    if not found:
        return None
    value = json.loads(found[-1])
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"{dockerfile.name} {name}: exec form"
    return value


def apt_packages(dockerfile: Path) -> set[str]:
    """Packages named by ``apt-get install`` lines."""
    out: set[str] = set()
    for inst, args in instructions(dockerfile):
        for match in re.finditer(r"apt-get install ([^&;]+)", args if inst == "RUN" else ""):
            out |= {w for w in match.group(1).split() if not w.startswith("-")}
    return out


def project_file(path: str) -> Path:
    """/app/<path> in the images is <repo>/<path> (COPY . /app)."""
    assert path.startswith("/app/"), f"{path}: expected under /app (the repository in the image)"
    return ROOT / path.removeprefix("/app/")


def assert_script(path: str) -> None:
    file = project_file(path)
    assert file.is_file(), f"{path}: no {file.relative_to(ROOT)} in the project"
    assert os.access(file, os.X_OK), f"{file.relative_to(ROOT)} is not executable"
    if file.suffix == ".sh":
        subprocess.run(["bash", "-n", str(file)], check=True)


def assert_twin(argv: list[str]) -> None:
    """``twin [command] ...``: a console script of pyproject.toml, and a command the CLI knows."""
    from twin_core import cli

    assert "twin" in SCRIPTS and SCRIPTS["twin"] == "twin_core.cli:main"
    verb = argv[1] if len(argv) > 1 else "run"
    if verb.startswith("-") or "=" in verb:
        return
    assert verb in cli.COMMANDS, f"`twin {verb}` is not a command of twin_core/cli.py ({cli.COMMANDS})"
    if verb == "step":
        from twin_core.pipeline.registry import STEPS

        assert argv[2] in STEPS, f"`twin step {argv[2]}`: no such step"
    if verb == "api":
        assert importlib.util.find_spec("twin_core.api.server"), "`twin api` needs twin_core/api/server.py"


def test_dockerfiles_run_project_commands() -> None:
    assert {p.name for p in DOCKERFILES} == {"Dockerfile.airflow", "Dockerfile.triton", "Dockerfile.twin"}
    twin_apt = apt_packages(DOCKER / "Dockerfile.twin")
    assert {"tini", "curl", "git"} <= twin_apt
    for dockerfile in DOCKERFILES:
        entrypoint, cmd = exec_form(dockerfile, "ENTRYPOINT"), exec_form(dockerfile, "CMD")
        assert entrypoint, f"{dockerfile.name}: no ENTRYPOINT"
        if entrypoint[0] == "/usr/bin/tini":  # installed by Dockerfile.twin (the Airflow image starts FROM it)
            entrypoint = entrypoint[2:] if entrypoint[1] == "--" else entrypoint[1:]
        if entrypoint:
            assert_script(entrypoint[0])
        argv = cmd or []
        if dockerfile.name == "Dockerfile.twin":
            assert argv[0] == "twin"
            assert_twin(argv)
        if dockerfile.name == "Dockerfile.airflow":
            assert argv and argv[0] in AIRFLOW_VERBS
        for inst, args in instructions(dockerfile):  # scripts the build itself runs
            for script in re.findall(r"(?:/app/)?docker/scripts/[\w.-]+", args if inst == "RUN" else ""):
                assert_script("/app/" + script.removeprefix("/app/"))


def _compose(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _argvs(service: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(key, argv) of the command, the entrypoint and the health check (which runs without the entrypoint)."""
    out = []
    for key in ("command", "entrypoint"):
        value = service.get(key)
        if value:
            out.append((key, value if isinstance(value, list) else value.split()))
    test = (service.get("healthcheck") or {}).get("test")
    if test:
        out.append(
            ("healthcheck", test[1:] if test[0] == "CMD" else test[1].split() if test[0] == "CMD-SHELL" else test)
        )
    return out


def test_compose_commands_exist_in_the_project(tmp_path: Path) -> None:
    from twin_core.cli import COMMANDS

    assert "migrate" in COMMANDS
    airflow_commands: list[list[str]] = []
    for path in COMPOSE_FILES:
        for name, service in _compose(path)["services"].items():
            image = str(service.get("image", ""))
            for volume in service.get("volumes", []):
                source = volume.split(":", 1)[0] if isinstance(volume, str) else ""
                if source.startswith("."):
                    assert (path.parent / source).exists(), f"{path.name} {name}: {source} missing"
            for key, argv in _argvs(service):
                first = argv[0]
                if first.startswith("/app/"):
                    assert_script(first)
                elif first == "twin":
                    assert_twin(argv)
                elif first in ("python", "python3"):
                    assert_script(argv[1])
                elif key == "command" and first in AIRFLOW_VERBS and "airflow" in image:  # airflow-entrypoint.sh
                    airflow_commands.append(argv)
                elif first == "airflow":
                    airflow_commands.append(argv[1:])
                elif first == "celery":
                    assert importlib.util.find_spec(argv[2].removesuffix(".app")), f"{name}: celery app {argv[2]}"
                elif first == "curl":
                    assert "llm-twin" in image
                elif first == "bash" and argv[1].startswith("/usr/local/bin/"):
                    mounts = [v.split(":") for v in service["volumes"] if isinstance(v, str) and v.startswith(".")]
                    assert any(m[1] == argv[1] for m in mounts), f"{name}: {argv[1]} is not mounted"
                else:
                    base = image.split(":")[0]
                    assert first in UPSTREAM.get(base, set()), f"{path.name} {name}: unknown program {first!r}"
    _check_airflow_cli([*airflow_commands, ["db", "migrate"], ["pools", "set", "p", "1", "d"]], tmp_path)


def _check_airflow_cli(commands: list[list[str]], home: Path) -> None:
    """Parse every Airflow command with the installed Airflow's own CLI parser (one subprocess)."""
    code = (
        "import json, sys\nfrom airflow.cli.cli_parser import get_parser\np = get_parser()\n"
        "for argv in json.loads(sys.argv[1]):\n    p.parse_args(argv)\n"
    )
    env = os.environ | {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"}
    env |= {"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run([sys.executable, "-c", code, json.dumps(commands)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"airflow rejects one of {commands}:\n{result.stderr[-2000:]}"
    assert len(commands) >= 8


def test_scripts_are_executable_and_parse() -> None:
    scripts = sorted((DOCKER / "scripts").iterdir())
    assert {p.name for p in scripts} >= {
        "airflow-entrypoint.sh",
        "airflow-init.sh",
        "make-conf.sh",
        "mongo-rs-init.sh",
        "sagemaker-train.sh",
        "triton-serve.sh",
        "twin-healthcheck.py",
    }
    for script in scripts:
        assert_script(f"/app/docker/scripts/{script.name}")


@pytest.mark.parametrize("path", ["docker/airflow/pod_template.yaml"])
def test_pod_template_is_a_pod_with_the_base_container(path: str) -> None:
    pod = yaml.safe_load((ROOT / path).read_text())
    assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")
    assert pod["spec"]["containers"][0]["name"] == "base"  # the KubernetesExecutor's contract
    env = dict(line.split("=", 1) for line in (DOCKER / "airflow/kubernetes.env").read_text().splitlines()
               if line and not line.startswith("#"))  # fmt: skip
    assert env["AIRFLOW__CORE__EXECUTOR"] == "KubernetesExecutor"
    assert project_file(env["AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE"]) == ROOT / path
    celery = dict(line.split("=", 1) for line in (DOCKER / "airflow/celery.env").read_text().splitlines()
                  if line and not line.startswith("#"))  # fmt: skip
    assert celery["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor" and celery["AIRFLOW__CELERY__BROKER_URL"].startswith(
        "redis://"
    )
