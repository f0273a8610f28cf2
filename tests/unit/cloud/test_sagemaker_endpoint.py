"""serving.target=sagemaker: model.tar.gz, the endpoint and autoscaling requests field by field, no-credential runs."""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.cloud.aws import CredentialsMissing, check
from twin_core.cloud.sagemaker_endpoint import endpoint_requests, package, resource_name, triton_image
from twin_core.cloud.settings import AutoscalingSettings, SageMakerEndpointSettings
from twin_core.config.errors import ConfigError
from twin_core.pipeline.runner import run_step
from twin_core.training.registry import ModelRegistry

ROLE = "arn:aws:iam::123456789012:role/LLMTwinSageMaker"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/llm-twin-triton:0.1.0"
TARGET = [
    "serving.target=sagemaker",
    f"+serving.sagemaker.role={ROLE}",
    "+serving.sagemaker.bucket=twin-bucket",
    "+serving.sagemaker.poll_s=0.01",
]


def _register(cfg: Any) -> Any:
    folder = cfg.paths.data_dir / "m0"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    registry = ModelRegistry(cfg.paths.models_dir / "registry")
    version = registry.register("twin-dpo", model_dir=folder, manifest={"fingerprint": "fp0"}, stage="candidate")
    registry.promote("twin-dpo", version.version, "production")
    return version


def test_endpoint_requests_field_by_field() -> None:
    s = SageMakerEndpointSettings(
        role=ROLE,
        bucket="twin-bucket",
        endpoint_name="twin-prod",
        instance_type="ml.g6.xlarge",
        initial_instance_count=2,
        variant_name="blue",
        startup_timeout_s=600,
        download_timeout_s=1200,
        kms_key_id="alias/twin",
        subnets=["subnet-1"],
        security_group_ids=["sg-1"],
        environment={"SAGEMAKER_TRITON_THREAD_COUNT": "8"},
        autoscaling=AutoscalingSettings(min_capacity=1, max_capacity=6, target_invocations_per_instance=35),
    )
    reqs = endpoint_requests(
        s, model_name="twin-prod-m1", image=IMAGE, role_arn=ROLE, model_data_url="s3://b/m.tar.gz", default_model="twin"
    )
    assert [(r.service, r.operation) for r in reqs] == [
        ("sagemaker", "CreateModel"),
        ("sagemaker", "CreateEndpointConfig"),
        ("sagemaker", "CreateEndpoint"),
        ("application-autoscaling", "RegisterScalableTarget"),
        ("application-autoscaling", "PutScalingPolicy"),
    ]
    model, config, endpoint, target, policy = (r.params for r in reqs)
    tags = [{"Key": "project", "Value": "llm-twin"}]
    assert model == {
        "ModelName": "twin-prod-m1",
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": IMAGE,
            "ModelDataUrl": "s3://b/m.tar.gz",
            "Environment": {
                "SAGEMAKER_TRITON_DEFAULT_MODEL_NAME": "twin",
                "SAGEMAKER_TRITON_LOG_VERBOSE": "0",
                "SAGEMAKER_TRITON_THREAD_COUNT": "8",
            },
        },
        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        "Tags": tags,
    }
    assert config == {
        "EndpointConfigName": "twin-prod-m1",
        "ProductionVariants": [
            {
                "VariantName": "blue",
                "ModelName": "twin-prod-m1",
                "InstanceType": "ml.g6.xlarge",
                "InitialInstanceCount": 2,
                "ContainerStartupHealthCheckTimeoutInSeconds": 600,
                "ModelDataDownloadTimeoutInSeconds": 1200,
            }
        ],
        "KmsKeyId": "alias/twin",
        "Tags": tags,
    }
    assert endpoint == {"EndpointName": "twin-prod", "EndpointConfigName": "twin-prod-m1", "Tags": tags}
    scalable = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/twin-prod/variant/blue",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    assert target == scalable | {"MinCapacity": 1, "MaxCapacity": 6}
    assert policy == scalable | {
        "PolicyName": "twin-prod-invocations",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 35.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
    }
    no_scaling = s.model_copy(update={"autoscaling": AutoscalingSettings(enabled=False)})
    reqs = endpoint_requests(
        no_scaling, model_name="m", image=IMAGE, role_arn=ROLE, model_data_url="s3://b/k", default_model="t"
    )
    assert len(reqs) == 3


def test_requests_are_checked_against_botocore_models() -> None:
    from twin_core.cloud.aws import Request

    with pytest.raises(ValueError, match="ModelName"):
        check(Request("sagemaker", "CreateModel", {"ExecutionRoleArn": ROLE}))
    with pytest.raises(ValueError, match="InitialInstanceCount"):
        check(
            Request(
                "sagemaker",
                "CreateEndpointConfig",
                {
                    "EndpointConfigName": "x",
                    "ProductionVariants": [{"VariantName": "a", "InitialInstanceCount": "two"}],
                },
            )
        )


def test_default_image_is_the_regions_sagemaker_tritonserver() -> None:
    s = SageMakerEndpointSettings(triton_version="25.09")
    assert (
        triton_image(s, "eu-west-1") == "763104351884.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-tritonserver:25.09-py3"
    )
    assert triton_image(s.model_copy(update={"image_uri": IMAGE}), "eu-west-1") == IMAGE
    assert resource_name("llm-twin", "twin-dpo-v1", "0123abcd") == "llm-twin-twin-dpo-v1-0123abcd"
    assert len(resource_name("x" * 70)) == 63 and resource_name("a_b.c") == "a-b-c"


def test_package_follows_links_and_moves_absolute_paths(tmp_path: Path) -> None:
    weights, engine = tmp_path / "weights", tmp_path / "engines" / "engine"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    engine.mkdir(parents=True)
    (engine / "rank0.engine").write_bytes(b"plan")
    repo = tmp_path / "repo"
    (repo / "tensorrt_llm" / "1").mkdir(parents=True)
    (repo / "tensorrt_llm" / "config.pbtxt").write_text(
        f'parameters {{ key: "gpt_model_path" value {{ string_value: "{engine}" }} }}\n'
        'parameters { key: "x" value { string_value: "/nonexistent/path" } }\n'
    )
    (repo / "tensorrt_llm" / "1" / "model").symlink_to(weights, target_is_directory=True)
    (repo / "twin_llm_canary" / "1").mkdir(parents=True)
    (repo / ".server.json").write_text("{}")
    archive, assets = package(repo, tmp_path / "out" / "model.tar.gz")
    assert assets == {str(engine): "/opt/ml/model/_assets/0-engine"}
    with tarfile.open(archive) as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
        config = tar.extractfile("tensorrt_llm/config.pbtxt").read().decode()  # type: ignore[union-attr]
    assert names == [
        "_assets/0-engine/rank0.engine",
        "tensorrt_llm/1/model/config.json",
        "tensorrt_llm/config.pbtxt",
    ]
    assert '"/opt/ml/model/_assets/0-engine"' in config and str(engine) not in config
    assert '"/nonexistent/path"' in config


def test_config_rules_name_what_is_missing(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(
        ConfigError, match=r"serving\.sagemaker\.role, serving\.sagemaker\.bucket, serving\.sagemaker\.image_uri"
    ):
        make_settings("serving.target=sagemaker")
    with pytest.raises(ConfigError, match=r"set serving\.trtllm\.decoupled=false"):
        make_settings("serving=gpu", *TARGET)
    with pytest.raises(ConfigError, match=r"initial_instance_count=5 lies outside autoscaling 1\.\.4"):
        make_settings(
            "serving=gpu", *TARGET, "serving.trtllm.decoupled=false", "+serving.sagemaker.initial_instance_count=5"
        )
    cfg = make_settings("serving=gpu", *TARGET, "serving.trtllm.decoupled=false")
    assert cfg.serving.sagemaker.bucket == "twin-bucket"


def test_cpu_deploy_without_credentials_renders_everything(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings(*TARGET, f"+serving.sagemaker.image_uri={IMAGE}")
    _register(cfg)
    with pytest.raises(CredentialsMissing, match="SageMaker endpoint llm-twin was not submitted") as info:
        run_step("deploy", cfg)
    folder = Path(re.search(r"requests are in (\S+) ", str(info.value)).group(1))  # type: ignore[union-attr]
    out = cfg.paths.artifacts_dir / "sagemaker" / "endpoints" / "twin-dpo-v1"
    assert folder == out / "requests"
    assert sorted(p.name for p in folder.glob("*.json")) == [
        "01-sagemaker-CreateModel.json",
        "02-sagemaker-CreateEndpointConfig.json",
        "03-sagemaker-CreateEndpoint.json",
        "04-application-autoscaling-RegisterScalableTarget.json",
        "05-application-autoscaling-PutScalingPolicy.json",
        "requests.json",
    ]
    model = json.loads((folder / "01-sagemaker-CreateModel.json").read_text())
    assert re.fullmatch(r"llm-twin-twin-dpo-v1-[0-9a-f]{8}", model["ModelName"])
    assert (
        model["PrimaryContainer"]["ModelDataUrl"]
        == f"s3://twin-bucket/llm-twin/endpoints/{model['ModelName']}/model.tar.gz"
    )
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_TRITON_DEFAULT_MODEL_NAME"] == "twin_llm"
    assert model["ExecutionRoleArn"] == ROLE and model["PrimaryContainer"]["Image"] == IMAGE
    with tarfile.open(out / "model.tar.gz") as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    assert {"twin_llm/config.pbtxt", "twin_llm/1/model.py", "twin_llm/1/model/config.json"} <= names
    assert "twin_llm/1/model/model.safetensors" in names  # the registry's weights, not a link to them
    assert all(n.startswith("twin_llm/") for n in names)  # no stream model: SageMaker has no gRPC
    assert "create-endpoint --region eu-west-1" in (folder / "submit.sh").read_text()


def test_gpu_deploy_needs_the_built_engine(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("serving=gpu", *TARGET, "serving.trtllm.decoupled=false")
    _register(cfg)
    with pytest.raises(FileNotFoundError, match="run `twin step engine` first"):
        run_step("deploy", cfg)
    engine = cfg.paths.artifacts_dir / "engines" / "twin-dpo-v1" / "engine"
    engine.mkdir(parents=True)
    (engine / "rank0.engine").write_bytes(b"plan")
    with pytest.raises(CredentialsMissing):
        run_step("deploy", cfg)
    out = cfg.paths.artifacts_dir / "sagemaker" / "endpoints" / "twin-dpo-v1"
    model = json.loads((out / "requests" / "01-sagemaker-CreateModel.json").read_text())
    assert model["PrimaryContainer"]["Image"].endswith("/sagemaker-tritonserver:25.09-py3")
    with tarfile.open(out / "model.tar.gz") as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
        config = tar.extractfile("tensorrt_llm/config.pbtxt").read().decode()  # type: ignore[union-attr]
    assert {"twin_llm/config.pbtxt", "preprocessing/config.pbtxt", "postprocessing/config.pbtxt"} <= names
    assert any(n.startswith("_assets/") and n.endswith("rank0.engine") for n in names)
    assert str(engine) not in config and "/opt/ml/model/_assets/" in config
    assert "decoupled: false" in config or "decoupled" not in config


def test_deploy_on_a_fake_sagemaker_creates_once_then_scales(make_settings: Callable[..., Any], fake_aws: Any) -> None:
    cfg = make_settings(*TARGET, f"+serving.sagemaker.image_uri={IMAGE}")
    _register(cfg)
    result = run_step("deploy", cfg)
    assert result.ok and "InService" in result.message
    methods = [m for _, m, _ in fake_aws.calls]
    for expected in (
        "create_model",
        "create_endpoint_config",
        "create_endpoint",
        "register_scalable_target",
        "put_scaling_policy",
    ):
        assert expected in methods
    assert "update_endpoint" not in methods
    model = next(p for _, m, p in fake_aws.calls if m == "create_model")
    assert model["ExecutionRoleArn"] == ROLE
    assert model["PrimaryContainer"]["ModelDataUrl"] in fake_aws.objects  # the archive was uploaded there
    fake_aws.calls.clear()
    run_step("deploy", cfg)  # the same model again: nothing created, the endpoint already serves it
    assert [m for _, m, _ in fake_aws.calls if m.startswith(("create_", "update_"))] == []
