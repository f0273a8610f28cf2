"""``serving.target=sagemaker``: the deploy step serves our Triton model repository from a SageMaker endpoint.

The repository (CPU: the Python-backend model with its weights; GPU: the engine step's TensorRT-LLM repository)
is packed as ``model.tar.gz`` (symlinks followed; absolute paths in configs, e.g. engine and tokenizer folders,
packed under ``_assets/`` and rewritten to ``/opt/ml/model/_assets/...``). Then: CreateModel (Triton container,
``SAGEMAKER_TRITON_DEFAULT_MODEL_NAME``), CreateEndpointConfig, CreateEndpoint (UpdateEndpoint when it exists: a
blue/green swap), and Application Auto Scaling (RegisterScalableTarget + a target-tracking PutScalingPolicy).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_core.cloud.aws import ACCOUNT_PLACEHOLDER, Request, check, write_requests
from twin_core.cloud.settings import SageMakerEndpointSettings
from twin_core.domain.results import StepResult

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings
    from twin_core.serving.lineage import ServedModel
    from twin_core.serving.settings import ServingSettings

log = logging.getLogger("twin.cloud.endpoint")
MODEL_ROOT = "/opt/ml/model"
SKIP = {".server.json", "deployments.json"}
_ABS_PATH = re.compile(r'string_value:\s*"(/[^"]+)"')
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
DONE = ("InService", "Failed")


def check_serving(serving: ServingSettings) -> None:
    """Config-time rules of ``serving.target=sagemaker`` (called by ServingSettings' validator)."""
    s = serving.sagemaker
    problems = s.missing("serving.sagemaker")
    if serving.backend == "triton_python" and not s.image_uri:
        problems.append(
            "serving.sagemaker.image_uri (the triton_python model imports twin_core: push docker/Dockerfile.triton)"
        )
    if problems:
        raise ValueError(
            f"target 'sagemaker' needs {', '.join(problems)} (experiment=production reads them from "
            "$TWIN_SAGEMAKER_ROLE, $TWIN_SAGEMAKER_BUCKET, $TWIN_SAGEMAKER_TRITON_IMAGE)"
        )
    if serving.backend == "tensorrt_llm" and serving.trtllm.decoupled:
        raise ValueError("target 'sagemaker' answers one response per request: set serving.trtllm.decoupled=false")


def resource_name(*parts: str) -> str:
    """A SageMaker resource name (letters, digits, hyphens; at most 63)."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-")
    return name[:63].rstrip("-")


def build_repository(cfg: TwinSettings, served: ServedModel, dst: Path) -> Path:
    """The repository SageMaker serves: CPU model + linked weights, or the engine step's GPU repository."""
    from twin_core.serving.model_configs import TEMPLATES, cpu_configs, gpu_configs, write_config, write_gpu_repository
    from twin_core.serving.repository import add_version

    serving = cfg.serving
    shutil.rmtree(dst, ignore_errors=True)
    if serving.backend == "tensorrt_llm":  # configs rendered again: this serving config (e.g. decoupled=false)
        built = Path(cfg.paths.artifacts_dir) / "engines" / served.tag
        if not (built / "engine").is_dir():
            raise FileNotFoundError(f"no TensorRT-LLM engine in {built / 'engine'}: run `twin step engine` first")
        draft = str(built / "draft_engine") if serving.trtllm.speculative.enabled else None
        engine, tokenizer = str(built / "engine"), str(served.path)
        configs = gpu_configs(serving, engine_dir=engine, tokenizer_dir=tokenizer, draft_engine_dir=draft)
        if missing := write_gpu_repository(configs, dst, serving.trtllm.bls_model_py):
            raise FileNotFoundError(f"GPU repository incomplete, missing {missing} (serving.trtllm.bls_model_py)")
        return dst
    config = cpu_configs(serving, cfg.quantization, version=1)[serving.model_name]  # no stream model: no gRPC here
    write_config(dst, serving.model_name, config)
    code = TEMPLATES / "twin_llm" / "1" / "model.py"
    add_version(dst, serving.model_name, served.path, version=1, link=True, code=code)
    return dst


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder``, symlinked folders followed, in a stable order."""
    return sorted(Path(root) / name for root, _, names in os.walk(folder, followlinks=True) for name in names)


def package(repository: Path, archive: Path) -> tuple[Path, dict[str, str]]:
    """``model.tar.gz`` of the repository; returns it and the local -> container path of every packed asset."""
    assets: dict[str, str] = {}
    for config in sorted(repository.glob("*/config.pbtxt")):
        for path in _ABS_PATH.findall(config.read_text()):
            if Path(path).exists() and not Path(path).resolve().is_relative_to(repository.resolve()):
                assets.setdefault(path, f"{MODEL_ROOT}/_assets/{len(assets)}-{Path(path).name}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz", dereference=True) as tar:  # linked weights are packed as files
        for model in sorted(p for p in repository.iterdir() if p.is_dir() and not p.name.endswith("_canary")):
            for path in _files(model):
                rel = path.relative_to(repository).as_posix()
                if path.name == "config.pbtxt" and path.parent == model:
                    text = path.read_text()
                    for local, remote in assets.items():
                        text = text.replace(f'"{local}"', f'"{remote}"')
                    data = text.encode()
                    info = tarfile.TarInfo(rel)
                    info.size, info.mode = len(data), 0o644
                    tar.addfile(info, io.BytesIO(data))
                elif path.is_file() and "__pycache__" not in path.parts:
                    tar.add(path, arcname=rel, recursive=False)
        for local, remote in assets.items():
            tar.add(Path(local).resolve(), arcname=remote.removeprefix(MODEL_ROOT + "/"))
    return archive, assets


def triton_image(s: SageMakerEndpointSettings, region: str) -> str:
    """``image_uri``, else AWS's sagemaker-tritonserver image for the region (from the SageMaker SDK's table)."""
    if s.image_uri:
        return s.image_uri
    from sagemaker.core import image_uris

    uri = image_uris.retrieve(
        "sagemaker-tritonserver", region=region, version=s.triton_version, instance_type=s.instance_type
    )
    return str(uri)


def endpoint_requests(
    s: SageMakerEndpointSettings, *, model_name: str, image: str, role_arn: str, model_data_url: str, default_model: str
) -> list[Request]:
    """CreateModel, CreateEndpointConfig, CreateEndpoint, RegisterScalableTarget, PutScalingPolicy (in order)."""
    tags = s.tag_list()
    env = {"SAGEMAKER_TRITON_DEFAULT_MODEL_NAME": default_model, "SAGEMAKER_TRITON_LOG_VERBOSE": "0"}
    container = {"Image": image, "ModelDataUrl": model_data_url, "Environment": env | dict(s.environment)}
    model: dict[str, Any] = {"ModelName": model_name, "ExecutionRoleArn": role_arn, "PrimaryContainer": container}
    if vpc := s.vpc_config():
        model["VpcConfig"] = vpc
    variant = {
        "VariantName": s.variant_name,
        "ModelName": model_name,
        "InstanceType": s.instance_type,
        "InitialInstanceCount": s.initial_instance_count,
        "ContainerStartupHealthCheckTimeoutInSeconds": s.startup_timeout_s,
        "ModelDataDownloadTimeoutInSeconds": s.download_timeout_s,
    }
    endpoint_config: dict[str, Any] = {"EndpointConfigName": model_name, "ProductionVariants": [variant]}
    if s.kms_key_id:
        endpoint_config["KmsKeyId"] = s.kms_key_id
    requests = [
        Request("sagemaker", "CreateModel", model | {"Tags": tags}),
        Request("sagemaker", "CreateEndpointConfig", endpoint_config | {"Tags": tags}),
        Request(
            "sagemaker",
            "CreateEndpoint",
            {"EndpointName": s.endpoint_name, "EndpointConfigName": model_name, "Tags": tags},
        ),
    ]
    a = s.autoscaling
    if a.enabled:
        target = {
            "ServiceNamespace": "sagemaker",
            "ResourceId": f"endpoint/{s.endpoint_name}/variant/{s.variant_name}",
            "ScalableDimension": DIMENSION,
        }
        policy = {
            "TargetValue": a.target_invocations_per_instance,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": a.scale_in_cooldown_s,
            "ScaleOutCooldown": a.scale_out_cooldown_s,
        }
        register = target | {"MinCapacity": a.min_capacity, "MaxCapacity": a.max_capacity}
        put = target | {
            "PolicyName": f"{s.endpoint_name}-invocations",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": policy,
        }
        requests += [
            Request("application-autoscaling", "RegisterScalableTarget", register),
            Request("application-autoscaling", "PutScalingPolicy", put),
        ]
    return [check(r) for r in requests]


def _exists(client: Any, method: str, **key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return dict(getattr(client, method)(**key))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
            return None
        raise


def _submit(sess: Any, s: SageMakerEndpointSettings, requests: list[Request], archive: Path) -> str:
    """Upload, create what is missing, create or update the endpoint, wait, then scale; the endpoint status."""
    from twin_core.cloud.aws import call, upload

    sm = sess.client("sagemaker")
    model, config, endpoint, *scaling = requests
    name = model.params["ModelName"]
    upload(sess, archive, model.params["PrimaryContainer"]["ModelDataUrl"])
    if _exists(sm, "describe_model", ModelName=name) is None:
        call(sm, model)
    if _exists(sm, "describe_endpoint_config", EndpointConfigName=name) is None:
        call(sm, config)
    current = _exists(sm, "describe_endpoint", EndpointName=s.endpoint_name)
    if current is None:
        call(sm, endpoint)
    elif current.get("EndpointConfigName") != name:
        call(sm, Request("sagemaker", "UpdateEndpoint", {"EndpointName": s.endpoint_name, "EndpointConfigName": name}))
    if not s.wait:
        return "submitted (serving.sagemaker.wait=false: autoscaling is registered by the next deploy)"
    while (status := sm.describe_endpoint(EndpointName=s.endpoint_name))["EndpointStatus"] not in DONE:
        log.info("endpoint %s: %s", s.endpoint_name, status["EndpointStatus"])
        time.sleep(s.poll_s)
    if status["EndpointStatus"] == "Failed":
        raise RuntimeError(f"endpoint {s.endpoint_name} failed: {status.get('FailureReason', 'no reason given')}")
    aas = sess.client("application-autoscaling")
    for request in scaling:
        call(aas, request)
    return "InService"


def deploy_to_sagemaker(cfg: TwinSettings) -> StepResult:
    """Render the endpoint's requests for the registry's production model, then submit them (credentials permitting)."""
    from twin_core.cloud.aws import account_id, require_credentials
    from twin_core.serving.lineage import now, select_model, write_json

    s, served = cfg.serving.sagemaker, select_model(cfg)
    region = s.resolved_region()
    out = Path(cfg.paths.artifacts_dir) / "sagemaker" / "endpoints" / served.tag
    repo = build_repository(cfg, served, out / "repository")
    archive, assets = package(repo, out / "model.tar.gz")
    configs = "".join(p.read_text() for p in sorted(repo.glob("*/config.pbtxt")))
    digest = hashlib.sha256(f"{served.tag}:{served.manifest.get('fingerprint')}:{configs}".encode()).hexdigest()
    model_name = resource_name(s.endpoint_name, served.tag, digest[:8])
    image = triton_image(s, region)

    def render(account: str) -> list[Request]:
        return endpoint_requests(
            s,
            model_name=model_name,
            image=image,
            role_arn=s.role_arn(account),
            model_data_url=s.s3_uri("endpoints", model_name, "model.tar.gz"),
            default_model=cfg.serving.model_name,
        )

    requests = render(ACCOUNT_PLACEHOLDER)
    folder = write_requests(out / "requests", requests, region, notes=f"Upload {archive} to the ModelDataUrl first.")
    sess = require_credentials(region, folder, f"SageMaker endpoint {s.endpoint_name}")
    requests = render(account_id(sess))
    write_requests(folder, requests, region, notes=f"Upload {archive} to the ModelDataUrl first.")
    status = _submit(sess, s, requests, archive)
    record = {"deployed_at": now(), "model_name": model_name, "status": status, "assets": assets}
    write_json(out / "deployment.json", record | {"lineage": served.lineage()})
    return StepResult(
        step="deploy",
        message=f"{served.tag} on SageMaker endpoint {s.endpoint_name} ({model_name}): {status}",
        counts={"requests": len(requests)},
        artifacts={"requests": str(folder), "archive": str(archive)},
        details={"lineage": served.lineage(), "endpoint": s.endpoint_name, "model_name": model_name, "skipped": False},
    )
