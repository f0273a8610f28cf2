"""What both launchers share: requests checked against botocore's service models, written out, then submitted.

Rendering never calls AWS: botocore's bundled API models validate the parameters offline. Submission happens only
when credentials are found (environment, shared files, SSO, or an instance/task role).
"""

from __future__ import annotations

import json
import logging
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("twin.cloud")
ACCOUNT_PLACEHOLDER = "<account-id>"


class CredentialsMissing(RuntimeError):
    """No AWS credentials: nothing was submitted; the message says where the rendered requests are."""


@dataclass(frozen=True)
class Request:
    """One AWS API call as data: ``service`` (boto3 client name), ``operation`` (API name) and its parameters."""

    service: str
    operation: str
    params: dict[str, Any]

    @property
    def method(self) -> str:
        """The boto3 client method (``CreateTrainingJob`` -> ``create_training_job``)."""
        from botocore import xform_name

        return xform_name(self.operation)

    def cli(self, path: Path, region: str) -> str:
        """The same call with the AWS CLI (``--cli-input-json`` takes these very parameters)."""
        command = self.method.replace("_", "-")
        return shlex.join(["aws", self.service, command, "--region", region, "--cli-input-json", f"file://{path}"])


def check(request: Request) -> Request:
    """Validate the parameters against botocore's model of the operation (types, required keys); offline."""
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    model = get_session().get_service_model(request.service)
    report = ParamValidator().validate(request.params, model.operation_model(request.operation).input_shape)
    if report.has_errors():
        raise ValueError(f"{request.service}.{request.operation}: {report.generate_report()}")
    return request


def write_requests(folder: Path, requests: list[Request], region: str, notes: str = "") -> Path:
    """One JSON file per request (in call order), ``requests.json`` with all of them, and ``submit.sh``."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("[0-9][0-9]-*.json"):
        old.unlink()
    lines = ["#!/usr/bin/env bash", "# Rendered by twin: the same requests with the AWS CLI.", "set -euo pipefail"]
    lines += [f"# {line}" for line in notes.splitlines()]
    for i, req in enumerate(requests, 1):
        path = folder / f"{i:02d}-{req.service}-{req.operation}.json"
        path.write_text(json.dumps(req.params, indent=2, sort_keys=True, default=str) + "\n")
        lines.append(req.cli(path, region))
    listing = [{"service": r.service, "operation": r.operation, "params": r.params} for r in requests]
    (folder / "requests.json").write_text(json.dumps(listing, indent=2, default=str) + "\n")
    script = folder / "submit.sh"
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return folder


def session(region: str) -> Any:
    """A boto3 session for ``region``."""
    import boto3

    return boto3.Session(region_name=region)


def credentials_present(region: str) -> bool:
    """Whether boto3 finds credentials (no API call; an instance role is asked only when metadata is enabled)."""
    return session(region).get_credentials() is not None


def require_credentials(region: str, folder: Path, what: str) -> Any:
    """A boto3 session, or :class:`CredentialsMissing` naming the folder of rendered requests."""
    sess = session(region)
    if sess.get_credentials() is None:
        raise CredentialsMissing(
            f"no AWS credentials found (AWS_ACCESS_KEY_ID/AWS_PROFILE, ~/.aws, SSO or an instance role): {what} "
            f"was not submitted. The rendered requests are in {folder} (requests.json, one JSON per call, and "
            f"submit.sh for the AWS CLI); set credentials and re-run the step, or run submit.sh yourself"
        )
    return sess


def account_id(sess: Any) -> str:
    """The caller's account (STS GetCallerIdentity)."""
    return str(sess.client("sts").get_caller_identity()["Account"])


def call(client: Any, request: Request) -> dict[str, Any]:
    """Send one request with a client of ``request.service``."""
    log.info("aws %s %s", request.service, request.operation)
    return dict(getattr(client, request.method)(**request.params))


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def upload(sess: Any, local: Path, uri: str) -> int:
    """Upload a file, or every file under a folder (symlinks followed), to ``uri``; returns the files sent."""
    s3, (bucket, key) = sess.client("s3"), split_s3(uri)
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    for path in files:
        relative = path.name if local.is_file() else path.relative_to(local).as_posix()
        target = f"{key}{relative}" if key.endswith("/") else key if local.is_file() else f"{key}/{relative}"
        s3.upload_file(str(path), bucket, target)
    log.info("uploaded %d file(s) from %s to %s", len(files), local, uri)
    return len(files)


def download(sess: Any, uri: str, local: Path) -> Path:
    """Download one S3 object to ``local``."""
    bucket, key = split_s3(uri)
    local.parent.mkdir(parents=True, exist_ok=True)
    sess.client("s3").download_file(bucket, key, str(local))
    return local
