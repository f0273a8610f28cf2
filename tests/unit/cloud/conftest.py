"""Cloud test fixtures: an AWS environment with a region and no credentials (nothing can reach AWS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

AWS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_REGION",
    "AWS_ACCOUNT_ID",
    "TWIN_SAGEMAKER_BUCKET",
    "TWIN_SAGEMAKER_ROLE",
    "TWIN_SAGEMAKER_TRAINING_IMAGE",
    "TWIN_SAGEMAKER_TRITON_IMAGE",
)


@pytest.fixture(autouse=True)
def no_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Region eu-west-1, no credentials anywhere, instance metadata disabled: botocore finds nothing to use."""
    for var in AWS_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


class FakeAws:
    """A boto3 session stand-in: records every call, keeps S3 objects in memory, jobs complete at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.objects: dict[str, bytes] = {}
        self.created: set[str] = set()
        self.created_config = ""

    def get_credentials(self) -> object:
        return object()

    def client(self, service: str) -> Any:
        return _FakeClient(self, service)


class _FakeClient:
    def __init__(self, aws: FakeAws, service: str) -> None:
        self.aws, self.service = aws, service

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def call(*args: Any, **params: Any) -> Any:
            self.aws.calls.append((self.service, method, params or {"args": args}))
            return self._answer(method, args, params)

        return call

    def _answer(self, method: str, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        from botocore.exceptions import ClientError

        aws = self.aws
        if method == "get_caller_identity":
            return {"Account": "123456789012"}
        if method == "upload_file":
            aws.objects[f"s3://{args[1]}/{args[2]}"] = Path(args[0]).read_bytes()
            return None
        if method == "download_file":
            Path(args[2]).write_bytes(aws.objects[f"s3://{args[0]}/{args[1]}"])
            return None
        if method == "describe_training_job":
            name = params["TrainingJobName"]
            artifacts = {"S3ModelArtifacts": f"s3://fake/{name}/output/model.tar.gz"}
            return {"TrainingJobStatus": "Completed", "SecondaryStatus": "Completed", "ModelArtifacts": artifacts}
        if method.startswith("describe_"):
            key = method.removeprefix("describe_") + ":" + next(iter(params.values()))
            if key not in aws.created:
                raise ClientError({"Error": {"Code": "ValidationException", "Message": "not found"}}, method)
            return {"EndpointStatus": "InService", "EndpointConfigName": aws.created_config}
        if method.startswith("create_") or method == "update_endpoint":
            kind = method.removeprefix("create_").removeprefix("update_")
            name = params.get(f"{kind.title().replace('_', '')}Name") or params.get("EndpointName")
            aws.created.add(f"{kind}:{name}")
            if kind == "endpoint":
                aws.created_config = params["EndpointConfigName"]
        return {}


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> FakeAws:
    """Replace boto3 sessions with a recording fake (credentials present, every call answered locally)."""
    from twin_core.cloud import aws

    fake = FakeAws()
    monkeypatch.setattr(aws, "session", lambda region: fake)
    return fake


@pytest.fixture
def datasets_written() -> Callable[[Path], None]:
    """Write an instruction and a preference dataset version (train + test) as the dataset step lays them out."""
    import json

    from datasets import Dataset, DatasetDict

    messages = [{"role": "user", "content": "Write about backfills."}, {"role": "assistant", "content": "Run them."}]
    pair = {"prompt": "Write about backfills.", "messages": messages, "chosen": "Run them.", "rejected": "No."}

    def write(artifacts: Path) -> None:
        for kind, version, row in (("instruction", "ins1", {"messages": messages}), ("preference", "pref1", pair)):
            root = artifacts / "datasets" / kind
            DatasetDict({"train": Dataset.from_list([row] * 4), "test": Dataset.from_list([row])}).save_to_disk(
                str(root / version)
            )
            (root / version / "manifest.json").write_text(json.dumps({"kind": kind, "version": version}))
            (root / "latest").symlink_to(version, target_is_directory=True)

    return write
