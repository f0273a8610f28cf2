"""Container specs for run_mode kubernetes / docker, rendered as data and checked field by field."""

from __future__ import annotations

import pytest

from twin_core.orchestration.containers import (
    DOCKER_RESULT_FILE,
    K8S_XCOM_FILE,
    docker_container_spec,
    docker_cpus,
    docker_memory,
    kubernetes_pod_spec,
    pod_name,
)
from twin_core.orchestration.settings import ContainerSettings, Resources

OVERRIDES = ["trainer.epochs=3", "run_name=w1"]


def _container(**over: object) -> ContainerSettings:
    return ContainerSettings.model_validate(
        {"image": "reg.example/llm-twin:1.2", "namespace": "ml", "env": {"TWIN_ROOT": "/app"}} | over
    )


def test_pod_runs_the_twin_step_command_and_writes_xcom() -> None:
    spec = kubernetes_pod_spec("sft", OVERRIDES, _container(), Resources(cpu="8", memory="64Gi", gpu=1))
    assert spec["cmds"] == ["twin", "step"]
    assert spec["arguments"] == ["sft", "trainer.epochs=3", "run_name=w1", "--result-file", K8S_XCOM_FILE]
    assert spec["do_xcom_push"] is True and spec["get_logs"] is True
    assert spec["on_finish_action"] == "delete_pod"


def test_pod_identity_image_and_namespace() -> None:
    spec = kubernetes_pod_spec("base_model", [], _container(service_account="twin-runner"), Resources())
    assert spec["name"] == "twin-base-model"
    assert spec["namespace"] == "ml"
    assert spec["image"] == "reg.example/llm-twin:1.2"
    assert spec["image_pull_policy"] == "IfNotPresent"
    assert spec["service_account_name"] == "twin-runner"
    assert spec["labels"] == {"app.kubernetes.io/name": "llm-twin", "app.kubernetes.io/component": "base-model"}


def test_pod_env_and_secret() -> None:
    spec = kubernetes_pod_spec("etl", [], _container(k8s_secret="twin-secrets"), Resources())
    assert spec["env_vars"] == {
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        "TWIN_DATA_DIR": "/data",
        "TWIN_ROOT": "/app",
    }
    assert spec["env_from_secrets"] == ["twin-secrets"]
    assert "MONGODB_URI" not in spec["env_vars"]


def test_pod_resources_requests_equal_limits_with_gpus() -> None:
    spec = kubernetes_pod_spec("sft", [], _container(), Resources(cpu="8", memory="64Gi", gpu=2))
    want = {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "2"}
    assert spec["container_resources"] == {"requests": want, "limits": want}
    cpu_only = kubernetes_pod_spec("etl", [], _container(), Resources(cpu="500m"))
    assert cpu_only["container_resources"]["limits"] == {"cpu": "500m"}


def test_pod_data_volume_only_when_configured() -> None:
    assert kubernetes_pod_spec("etl", [], _container(), Resources())["volumes"] == []
    spec = kubernetes_pod_spec("etl", [], _container(data_volume="twin-data-pvc", data_mount="/srv"), Resources())
    assert spec["volumes"] == [{"name": "twin-data", "claim_name": "twin-data-pvc"}]
    assert spec["volume_mounts"] == [{"name": "twin-data", "mount_path": "/srv"}]
    assert spec["env_vars"]["TWIN_DATA_DIR"] == "/srv"


def test_docker_command_env_and_result_file() -> None:
    spec = docker_container_spec("dpo", OVERRIDES, _container(), Resources(cpu="4", memory="16Gi", gpu=1), {})
    assert spec["image"] == "reg.example/llm-twin:1.2"
    assert spec["command"] == [
        "twin",
        "step",
        "dpo",
        "trainer.epochs=3",
        "run_name=w1",
        "--result-file",
        DOCKER_RESULT_FILE,
    ]
    assert spec["environment"]["TWIN_DATA_DIR"] == "/data" and spec["environment"]["TWIN_ROOT"] == "/app"
    assert (spec["retrieve_output"], spec["retrieve_output_path"]) == (True, DOCKER_RESULT_FILE)
    assert (spec["cpus"], spec["mem_limit"], spec["gpus"]) == (4.0, "16g", 1)
    assert (spec["auto_remove"], spec["mount_tmp_dir"], spec["force_pull"]) == ("success", False, False)
    assert spec["docker_url"] == "unix://var/run/docker.sock" and spec["network_mode"] is None


def test_docker_secrets_come_from_the_worker_environment_privately() -> None:
    environ = {"MONGODB_URI": "mongodb://u:p@db/twin", "PATH": "/bin"}
    spec = docker_container_spec("etl", [], _container(), Resources(), environ)
    assert spec["private_environment"] == {"MONGODB_URI": "mongodb://u:p@db/twin"}
    assert "MONGODB_URI" not in spec["environment"]


def test_docker_mounts_a_named_volume_or_a_host_path() -> None:
    named = docker_container_spec("etl", [], _container(data_volume="twin-data"), Resources(), {})
    assert named["mounts"] == [{"source": "twin-data", "target": "/data", "type": "volume"}]
    bind = docker_container_spec(
        "etl", [], _container(data_volume="/srv/twin", image_pull_policy="Always"), Resources()
    )
    assert bind["mounts"] == [{"source": "/srv/twin", "target": "/data", "type": "bind"}]
    assert bind["force_pull"] is True


@pytest.mark.parametrize(("k8s", "docker"), [("8Gi", "8g"), ("512Mi", "512m"), ("1000000", "1000000"), (None, None)])
def test_memory_quantities(k8s: str | None, docker: str | None) -> None:
    assert docker_memory(k8s) == docker


def test_cpu_quantities() -> None:
    assert (docker_cpus("500m"), docker_cpus("2"), docker_cpus(None)) == (0.5, 2.0, None)


def test_pod_names_are_dns_safe() -> None:
    assert pod_name("Base_Model") == "twin-base-model"
