"""run_mode kubernetes / docker: a clear error without the provider; with it, one pod/container from the spec."""

from __future__ import annotations

import sys
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from operators.containers import ProviderMissing
from operators.stages import EtlOperator, SftOperator
from twin_core.orchestration.settings import ContainerSettings

CONTAINER = ContainerSettings(image="reg/llm-twin:1", namespace="ml").model_dump()
CONTEXT = {"dag_run": SimpleNamespace(conf={"overrides": "run_name=w1"}), "params": {}}


def _modules(monkeypatch: pytest.MonkeyPatch, mods: dict[str, dict[str, Any]]) -> None:
    for name, attrs in mods.items():
        mod = ModuleType(name)
        mod.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, mod)


class Recorder:
    """Stands in for a provider class or a kubernetes/docker model: records its arguments."""

    made: list[Recorder] = []  # noqa: RUF012

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        Recorder.made.append(self)

    def execute(self, context: Any) -> Any:
        return [{"step": "init", "ok": True}, {"step": "sft", "ok": True, "context": context is CONTEXT}]


@pytest.mark.parametrize(
    ("mode", "package"), [("kubernetes", "providers-cncf-kubernetes"), ("docker", "providers-docker")]
)
def test_missing_provider_names_the_package(monkeypatch: pytest.MonkeyPatch, mode: str, package: str) -> None:
    monkeypatch.setitem(sys.modules, "airflow.providers.cncf.kubernetes.operators.pod", None)
    monkeypatch.setitem(sys.modules, "airflow.providers.docker.operators.docker", None)
    op = EtlOperator(task_id="etl", run_mode=mode, container=CONTAINER)
    with pytest.raises(ProviderMissing, match=rf"run_mode={mode} needs apache-airflow-{package}"):
        op.execute(CONTEXT)


def test_kubernetes_runs_one_pod_built_from_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    Recorder.made = []
    k8s = {n: Recorder for n in ("V1ResourceRequirements", "V1EnvFromSource", "V1SecretEnvSource", "V1Volume")}
    k8s |= {"V1PersistentVolumeClaimVolumeSource": Recorder, "V1VolumeMount": Recorder}
    _modules(
        monkeypatch,
        {
            "airflow.providers.cncf": {},
            "airflow.providers.cncf.kubernetes": {},
            "airflow.providers.cncf.kubernetes.operators": {},
            "airflow.providers.cncf.kubernetes.operators.pod": {"KubernetesPodOperator": Recorder},
            "kubernetes": {},
            "kubernetes.client": {"models": SimpleNamespace(**k8s)},
        },
    )
    container = {**CONTAINER, "data_volume": "twin-pvc", "k8s_secret": "twin-secrets"}
    op = SftOperator(task_id="sft", run_mode="kubernetes", container=container, container_resources={"gpu": 1})
    out = op.execute(CONTEXT)
    assert out == {"step": "sft", "ok": True, "context": True}
    pod = next(r for r in Recorder.made if "image" in r.kwargs)
    assert pod.kwargs["task_id"] == "sft"
    assert pod.kwargs["image"] == "reg/llm-twin:1" and pod.kwargs["namespace"] == "ml"
    assert pod.kwargs["cmds"] == ["twin", "step"]
    assert pod.kwargs["arguments"] == ["sft", "run_name=w1", "--result-file", "/airflow/xcom/return.json"]
    assert pod.kwargs["container_resources"].kwargs == {
        "requests": {"nvidia.com/gpu": "1"},
        "limits": {"nvidia.com/gpu": "1"},
    }
    assert pod.kwargs["env_from"][0].kwargs["secret_ref"].kwargs == {"name": "twin-secrets"}
    assert pod.kwargs["volume_mounts"][0].kwargs == {"name": "twin-data", "mount_path": "/data"}


def test_docker_runs_one_container_built_from_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    Recorder.made = []
    _modules(
        monkeypatch,
        {
            "airflow.providers.docker": {},
            "airflow.providers.docker.operators": {},
            "airflow.providers.docker.operators.docker": {"DockerOperator": Recorder},
            "docker": {"types": SimpleNamespace(Mount=Recorder, DeviceRequest=Recorder)},
        },
    )
    op = SftOperator(task_id="sft", run_mode="docker", container={**CONTAINER, "data_volume": "/srv/twin"})
    op.execute(CONTEXT)
    box = next(r for r in Recorder.made if "image" in r.kwargs)
    assert box.kwargs["command"] == ["twin", "step", "sft", "run_name=w1", "--result-file", "/tmp/twin-result.json"]
    assert box.kwargs["mounts"][0].kwargs == {"target": "/data", "source": "/srv/twin", "type": "bind"}
    assert box.kwargs["mem_limit"] == "4g" and box.kwargs["cpus"] == 1.0
    assert "device_requests" not in box.kwargs and "network_mode" not in box.kwargs
