"""A stage as a container, rendered as plain data: KubernetesPodOperator and DockerOperator arguments.

The container runs the same entry point as every other mode (``twin step <stage> <overrides>``) and writes its
StepResult where the provider collects XCom. No provider is imported here; ``operators/`` turns this into one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from twin_core.orchestration.settings import ContainerSettings, Resources

K8S_XCOM_FILE = "/airflow/xcom/return.json"  # where KubernetesPodOperator's sidecar reads XCom
DOCKER_RESULT_FILE = "/tmp/twin-result.json"  # DockerOperator's retrieve_output_path
DATA_VOLUME = "twin-data"
BASE_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}


def step_command(stage: str, overrides: Sequence[str], result_file: str) -> list[str]:
    """``twin step <stage> <overrides...> --result-file <file>``: the one entry point of every run mode."""
    return ["twin", "step", stage, *overrides, "--result-file", result_file]


def pod_name(stage: str) -> str:
    """A DNS-1123 pod name prefix for the stage (the provider appends a random suffix)."""
    return "twin-" + re.sub(r"[^a-z0-9-]+", "-", stage.lower()).strip("-")


def _quantities(res: Resources) -> dict[str, str]:
    out = {"cpu": res.cpu, "memory": res.memory, "nvidia.com/gpu": str(res.gpu) if res.gpu else None}
    return {k: v for k, v in out.items() if v}


def container_env(container: ContainerSettings) -> dict[str, str]:
    """Plain environment of the step: offline hub, data under the mount, then the configured values."""
    return {**BASE_ENV, "TWIN_DATA_DIR": container.data_mount, **container.env}


def kubernetes_pod_spec(
    stage: str, overrides: Sequence[str], container: ContainerSettings, resources: Resources
) -> dict[str, Any]:
    """KubernetesPodOperator keyword arguments as data (volumes, secrets and resources as plain dicts)."""
    command = step_command(stage, overrides, K8S_XCOM_FILE)
    quantities = _quantities(resources)
    spec: dict[str, Any] = {
        "name": pod_name(stage),
        "namespace": container.namespace,
        "image": container.image,
        "image_pull_policy": container.image_pull_policy,
        "cmds": command[:2],
        "arguments": command[2:],
        "env_vars": container_env(container),
        "env_from_secrets": [container.k8s_secret] if container.k8s_secret else [],
        "container_resources": {"requests": dict(quantities), "limits": dict(quantities)},
        "volumes": [],
        "volume_mounts": [],
        "service_account_name": container.service_account,
        "labels": {"app.kubernetes.io/name": "llm-twin", "app.kubernetes.io/component": stage.replace("_", "-")},
        "do_xcom_push": True,
        "get_logs": True,
        "on_finish_action": "delete_pod",
    }
    if container.data_volume:
        spec["volumes"] = [{"name": DATA_VOLUME, "claim_name": container.data_volume}]
        spec["volume_mounts"] = [{"name": DATA_VOLUME, "mount_path": container.data_mount}]
    return spec


def docker_memory(memory: str | None) -> str | None:
    """Kubernetes quantity -> Docker ``mem_limit`` ('8Gi' -> '8g', '512Mi' -> '512m', bytes unchanged)."""
    if memory is None:
        return None
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti|K|M|G|T)?", memory)
    if not m:
        raise ValueError(f"resources.memory: {memory!r} is not a quantity like 8Gi")
    return m.group(1) + (m.group(2) or "")[:1].lower()


def docker_cpus(cpu: str | None) -> float | None:
    """Kubernetes CPU quantity -> Docker ``cpus`` ('500m' -> 0.5, '2' -> 2.0)."""
    if cpu is None:
        return None
    return float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)


def docker_container_spec(
    stage: str,
    overrides: Sequence[str],
    container: ContainerSettings,
    resources: Resources,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """DockerOperator keyword arguments as data; ``secret_env`` values come from ``environ`` (never logged)."""
    environ = environ or {}
    mounts = []
    if container.data_volume:
        kind = "bind" if container.data_volume.startswith("/") else "volume"
        mounts = [{"source": container.data_volume, "target": container.data_mount, "type": kind}]
    return {
        "image": container.image,
        "command": step_command(stage, overrides, DOCKER_RESULT_FILE),
        "environment": container_env(container),
        "private_environment": {k: environ[k] for k in container.secret_env if k in environ},
        "mounts": mounts,
        "docker_url": container.docker_url,
        "network_mode": container.network_mode,
        "force_pull": container.image_pull_policy == "Always",
        "cpus": docker_cpus(resources.cpu),
        "mem_limit": docker_memory(resources.memory),
        "gpus": resources.gpu,
        "auto_remove": "success",
        "mount_tmp_dir": False,
        "retrieve_output": True,
        "retrieve_output_path": DOCKER_RESULT_FILE,
    }
