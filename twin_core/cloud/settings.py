"""SageMaker settings: account, storage and IAM shared by both launchers; instances and scaling of each.

``trainer.sagemaker`` (training jobs, ``trainer.launcher=sagemaker``) and ``serving.sagemaker`` (the real-time
endpoint, ``serving.target=sagemaker``). ``conf/experiment/production.yaml`` fills them from the environment.
"""

from __future__ import annotations

import os
import re

from pydantic import Field, model_validator

from twin_core.config.base import Settings

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # SageMaker resource names
INSTANCE = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"


class SageMakerAccountSettings(Settings):
    """Where requests go and what they run as: region, IAM role, S3 bucket/prefix, network, tags."""

    region: str | None = Field(default=None, description="None: $AWS_DEFAULT_REGION or $AWS_REGION.")
    role: str | None = Field(default=None, description="Execution role: an IAM role ARN, or a name (+ account_id).")
    account_id: str | None = Field(
        default=None, pattern=r"^\d{12}$", description="Account of a role name; None: from STS when submitting."
    )
    bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    prefix: str = Field(default="llm-twin", pattern=r"^[A-Za-z0-9!_.*'()/-]*$", description="S3 key prefix.")
    kms_key_id: str | None = Field(default=None, description="KMS key for outputs and volumes; None: AWS managed.")
    subnets: list[str] = Field(default_factory=list, description="VPC subnets (with security_group_ids); [] = none.")
    security_group_ids: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=lambda: {"project": "llm-twin"})
    wait: bool = Field(default=True, description="Wait for the job / endpoint to finish before the step returns.")
    poll_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _shape(self) -> SageMakerAccountSettings:
        if self.role and not (ROLE_ARN.match(self.role) or ROLE_NAME.match(self.role)):
            raise ValueError(f"role: {self.role!r} is neither an IAM role ARN nor a role name")
        if bool(self.subnets) != bool(self.security_group_ids):
            raise ValueError("subnets and security_group_ids: give both (a VPC config) or neither")
        return self

    def resolved_region(self) -> str:
        """The region: ``region``, else ``$AWS_DEFAULT_REGION`` / ``$AWS_REGION``; raises when none is set."""
        region = self.region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
        if not region:
            raise ValueError("sagemaker.region: not set, and neither is $AWS_DEFAULT_REGION nor $AWS_REGION")
        return region

    def role_arn(self, account_id: str | None = None) -> str:
        """The role's ARN; a role name needs ``account_id`` (this setting's, else the one given)."""
        if not self.role:
            raise ValueError("sagemaker.role: required (an IAM role ARN or name SageMaker can assume)")
        if ROLE_ARN.match(self.role):
            return self.role
        account = self.account_id or account_id
        if not account:
            raise ValueError(f"sagemaker.role: {self.role!r} is a name; set sagemaker.account_id or give an ARN")
        partition = "aws-cn" if self.resolved_region().startswith("cn-") else "aws"
        return f"arn:{partition}:iam::{account}:role/{self.role}"

    def s3_uri(self, *parts: str) -> str:
        """``s3://<bucket>/<prefix>/<parts...>``."""
        if not self.bucket:
            raise ValueError("sagemaker.bucket: required (the S3 bucket for inputs, checkpoints and models)")
        keys = [p.strip("/") for p in (self.prefix, *parts) if p and p.strip("/")]
        return f"s3://{self.bucket}/" + "/".join(keys)

    def tag_list(self) -> list[dict[str, str]]:
        """Tags as the API wants them."""
        return [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())]

    def vpc_config(self) -> dict[str, list[str]] | None:
        """``VpcConfig`` or None."""
        if not self.subnets:
            return None
        return {"SecurityGroupIds": list(self.security_group_ids), "Subnets": list(self.subnets)}

    def missing(self, where: str) -> list[str]:
        """What must be set before anything can be rendered (``where``: the settings' key path)."""
        return [f"{where}.{k}" for k in ("role", "bucket") if not getattr(self, k)]


class SageMakerTrainingSettings(SageMakerAccountSettings):
    """A SageMaker training job running our Axolotl recipe in the CUDA image (``docker/Dockerfile.twin``)."""

    image_uri: str | None = Field(default=None, description="The CUDA twin image in ECR (docker/README.md).")
    instance_type: str = Field(default="ml.g5.2xlarge", pattern=INSTANCE)
    instance_count: int = Field(default=1, gt=0, description="Nodes; GPUs per node come from the instance type.")
    volume_size_gb: int = Field(default=200, gt=0)
    max_runtime_s: int = Field(default=86400, gt=0)
    spot: bool = Field(default=False, description="Managed spot training (checkpoints in S3 make it resumable).")
    max_wait_s: int | None = Field(default=None, gt=0, description="Spot: runtime + waiting; None: 2 x max_runtime.")
    keep_alive_s: int = Field(default=0, ge=0, le=3600, description="Warm pool: keep the instance for the next job.")
    environment: dict[str, str] = Field(default_factory=dict, description="Plain environment (no secrets).")

    @model_validator(mode="after")
    def _spot(self) -> SageMakerTrainingSettings:
        if self.max_wait_s is not None and self.max_wait_s < self.max_runtime_s:
            raise ValueError(f"max_wait_s={self.max_wait_s} must be >= max_runtime_s={self.max_runtime_s}")
        return self

    def missing(self, where: str) -> list[str]:
        return super().missing(where) + ([f"{where}.image_uri"] if not self.image_uri else [])


class AutoscalingSettings(Settings):
    """Application Auto Scaling of the endpoint variant: target tracking on invocations per instance."""

    enabled: bool = True
    min_capacity: int = Field(default=1, ge=0)
    max_capacity: int = Field(default=4, gt=0)
    target_invocations_per_instance: float = Field(default=20.0, gt=0, description="Per minute, per instance.")
    scale_in_cooldown_s: int = Field(default=300, ge=0)
    scale_out_cooldown_s: int = Field(default=60, ge=0)

    @model_validator(mode="after")
    def _range(self) -> AutoscalingSettings:
        if self.min_capacity > self.max_capacity:
            raise ValueError(f"min_capacity={self.min_capacity} exceeds max_capacity={self.max_capacity}")
        return self


class SageMakerEndpointSettings(SageMakerAccountSettings):
    """A real-time endpoint: the SageMaker Triton container serving our model repository (``model.tar.gz``)."""

    endpoint_name: str = Field(default="llm-twin", pattern=NAME)
    image_uri: str | None = Field(
        default=None, description="None: AWS's sagemaker-tritonserver image (TensorRT-LLM backend only)."
    )
    triton_version: str = Field(default="25.09", pattern=r"^\d{2}\.\d{2}$", description="sagemaker-tritonserver tag.")
    instance_type: str = Field(default="ml.g5.2xlarge", pattern=INSTANCE)
    initial_instance_count: int = Field(default=1, gt=0)
    variant_name: str = Field(default="AllTraffic", pattern=NAME)
    startup_timeout_s: int = Field(default=900, ge=60, le=3600)
    download_timeout_s: int = Field(default=1800, ge=60, le=3600)
    environment: dict[str, str] = Field(default_factory=dict, description="Extra container environment.")
    autoscaling: AutoscalingSettings = AutoscalingSettings()

    @model_validator(mode="after")
    def _instances(self) -> SageMakerEndpointSettings:
        a = self.autoscaling
        if a.enabled and not a.min_capacity <= self.initial_instance_count <= a.max_capacity:
            raise ValueError(
                f"initial_instance_count={self.initial_instance_count} lies outside autoscaling "
                f"{a.min_capacity}..{a.max_capacity}"
            )
        return self
