"""Run a stage in a container: the rendered spec becomes a KubernetesPodOperator or a DockerOperator.

The providers are optional: a missing one fails the task at execute time with the package to install, never
the DAG file at parse time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from twin_core.orchestration.containers import docker_container_spec, kubernetes_pod_spec
from twin_core.orchestration.settings import ContainerSettings, Resources

if TYPE_CHECKING:
    from operators.stage import TwinStageOperator

PROVIDERS = {
    "kubernetes": "apache-airflow-providers-cncf-kubernetes",
    "docker": "apache-airflow-providers-docker",
}


class ProviderMissing(RuntimeError):
    """The run mode needs an Airflow provider that is not installed on this worker."""


def _require(mode: str, load: Callable[[], Any]) -> Any:
    try:
        return load()
    except ImportError as exc:
        raise ProviderMissing(
            f"run_mode={mode} needs {PROVIDERS[mode]} on the Airflow workers "
            f"(pip install {PROVIDERS[mode]}), or set airflow.run_mode=subprocess; import failed: {exc}"
        ) from exc


def _kubernetes_operator(task_id: str, spec: Mapping[str, Any]) -> Any:
    def load() -> tuple[Any, Any]:
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        from kubernetes.client import models as k8s

        return KubernetesPodOperator, k8s

    kpo, k8s = _require("kubernetes", load)
    kwargs = {k: v for k, v in spec.items() if k not in ("env_from_secrets", "volumes", "volume_mounts")}
    kwargs["container_resources"] = k8s.V1ResourceRequirements(**spec["container_resources"])
    kwargs["env_from"] = [
        k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=s)) for s in spec["env_from_secrets"]
    ]
    kwargs["volumes"] = [
        k8s.V1Volume(name=v["name"], persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(v["claim_name"]))
        for v in spec["volumes"]
    ]
    kwargs["volume_mounts"] = [
        k8s.V1VolumeMount(name=m["name"], mount_path=m["mount_path"]) for m in spec["volume_mounts"]
    ]
    return kpo(task_id=task_id, **kwargs)


def _docker_operator(task_id: str, spec: Mapping[str, Any]) -> Any:
    def load() -> tuple[Any, Any]:
        from airflow.providers.docker.operators.docker import DockerOperator

        from docker import types

        return DockerOperator, types

    docker_op, types = _require("docker", load)
    kwargs = {k: v for k, v in spec.items() if k not in ("gpus", "mounts") and v is not None}
    kwargs["mounts"] = [types.Mount(target=m["target"], source=m["source"], type=m["type"]) for m in spec["mounts"]]
    if spec["gpus"]:
        kwargs["device_requests"] = [types.DeviceRequest(count=spec["gpus"], capabilities=[["gpu"]])]
    return docker_op(task_id=task_id, **kwargs)


def last_result(value: Any) -> Any:
    """The container writes the CLI's result file (a list of StepResults): XCom gets the last one."""
    return value[-1] if isinstance(value, list) and value else value


def run_in_container(op: TwinStageOperator, overrides: list[str], context: Any) -> dict[str, Any]:
    """Render the stage's container spec, build the provider's operator and run it in this task."""
    container = ContainerSettings.model_validate(op.container or {})
    resources = Resources.model_validate(op.container_resources) if op.container_resources else container.resources
    if op.run_mode == "kubernetes":
        inner = _kubernetes_operator(op.task_id, kubernetes_pod_spec(op.stage, overrides, container, resources))
    else:
        spec = docker_container_spec(op.stage, overrides, container, resources, os.environ)
        inner = _docker_operator(op.task_id, spec)
    return last_result(inner.execute(context))
