"""``trainer.launcher=sagemaker``: one training stage (SFT or DPO) as a SageMaker training job.

The recipe is the one the local launcher renders, with its paths moved into the container: data and a local base
model arrive as input channels under ``/opt/ml/input/data/``, checkpoints go to ``/opt/ml/checkpoints`` (synced
to S3, so a retried or spot-interrupted job resumes), and ``docker/scripts/sagemaker-train.sh`` in the CUDA image
trains (Accelerate over every GPU and node), merges LoRA adapters and leaves the final model in ``/opt/ml/model``.
The step then downloads that model and registers it exactly like a local run.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_core.cloud.aws import ACCOUNT_PLACEHOLDER, Request, check, write_requests
from twin_core.cloud.settings import SageMakerTrainingSettings

if TYPE_CHECKING:
    from twin_core.training.recipes import RunPaths
    from twin_core.training.settings import TrainerSettings

log = logging.getLogger("twin.cloud.training")
INPUT = "/opt/ml/input/data"
CHECKPOINTS = "/opt/ml/checkpoints"
ENTRYPOINT = "/app/docker/scripts/sagemaker-train.sh"
IMAGE_CONF = "/app/conf"
METRICS = [  # Hugging Face Trainer prints {'loss': 1.2, ...} (Axolotl: quoted values); both are matched
    {"Name": "train:loss", "Regex": r"'loss': '?([0-9.eE+-]+)"},
    {"Name": "eval:loss", "Regex": r"'eval_loss': '?([0-9.eE+-]+)"},
    {"Name": "train:learning_rate", "Regex": r"'learning_rate': '?([0-9.eE+-]+)"},
]
DONE = {"Completed", "Failed", "Stopped"}


def job_name(registry_name: str, fingerprint: str, attempt: int) -> str:
    """``<registry name>-<fingerprint 12>-<attempt>``, within SageMaker's 63 characters."""
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", registry_name).strip("-")
    suffix = f"-{fingerprint[:12]}-{attempt}"
    return stem[: 63 - len(suffix)].rstrip("-") + suffix


def container_recipe(rendered: dict[str, Any], paths: RunPaths) -> tuple[dict[str, Any], dict[str, Path]]:
    """The Axolotl config with container paths, and the local file or folder behind each input channel."""
    cfg, channels = dict(rendered), {"train": paths.train_file}
    if Path(paths.base_model).is_dir():  # a hub id stays as it is: the job downloads it
        channels["base"] = Path(paths.base_model)
        cfg["base_model"] = f"{INPUT}/base"
    cfg["datasets"] = [d | {"path": f"{INPUT}/train/{paths.train_file.name}"} for d in rendered["datasets"]]
    if paths.test_file is not None and "test_datasets" in rendered:
        channels["test"] = paths.test_file
        cfg["test_datasets"] = [d | {"path": f"{INPUT}/test/{paths.test_file.name}"} for d in rendered["test_datasets"]]
    cfg |= {"dataset_prepared_path": "/tmp/twin/prepared", "output_dir": CHECKPOINTS}
    if cfg.get("deepspeed"):  # the same json, shipped inside the image
        cfg["deepspeed"] = f"{IMAGE_CONF}/trainer/deepspeed/{Path(cfg['deepspeed']).name}"
    return cfg, channels


def _channel(name: str, uri: str) -> dict[str, Any]:
    source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
    return {"ChannelName": name, "DataSource": {"S3DataSource": source}, "CompressionType": "None"}


def training_job_request(
    s: SageMakerTrainingSettings,
    *,
    name: str,
    role_arn: str,
    channels: dict[str, str],
    checkpoint_uri: str,
    output_uri: str,
    environment: dict[str, str],
) -> Request:
    """``CreateTrainingJob`` for the twin CUDA image running ``sagemaker-train.sh`` on the given channels."""
    params: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": s.image_uri,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": [ENTRYPOINT],
            "MetricDefinitions": METRICS,
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "InputDataConfig": [_channel(k, v) for k, v in sorted(channels.items())],
        "OutputDataConfig": {"S3OutputPath": output_uri, "CompressionType": "GZIP"},
        "ResourceConfig": {
            "InstanceType": s.instance_type,
            "InstanceCount": s.instance_count,
            "VolumeSizeInGB": s.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": s.max_runtime_s},
        "CheckpointConfig": {"S3Uri": checkpoint_uri, "LocalPath": CHECKPOINTS},
        "Environment": environment | dict(s.environment),
        "EnableManagedSpotTraining": s.spot,
        "Tags": s.tag_list(),
    }
    if s.spot:
        params["StoppingCondition"]["MaxWaitTimeInSeconds"] = s.max_wait_s or 2 * s.max_runtime_s
    if s.keep_alive_s:
        params["ResourceConfig"]["KeepAlivePeriodInSeconds"] = s.keep_alive_s
    if s.kms_key_id:
        params["OutputDataConfig"]["KmsKeyId"] = s.kms_key_id
        params["ResourceConfig"]["VolumeKmsKeyId"] = s.kms_key_id
    if vpc := s.vpc_config():
        params["VpcConfig"] = vpc
    return check(Request("sagemaker", "CreateTrainingJob", params))


def job_environment(recipe: TrainerSettings, hub_base: bool) -> dict[str, str]:
    """What the entry script reads: the config, the adapter kind (merge or not), offline flags."""
    return {
        "TWIN_AXOLOTL_CONFIG": f"{INPUT}/config/axolotl.yaml",
        "TWIN_ADAPTER": recipe.adapter,
        "HF_HUB_OFFLINE": "0" if hub_base else "1",
        "WANDB_MODE": "offline",
        "AXOLOTL_DO_NOT_TRACK": "1",
    }


def render_job(
    recipe: TrainerSettings,
    s: SageMakerTrainingSettings,
    rendered: dict[str, Any],
    paths: RunPaths,
    *,
    registry_name: str,
    fingerprint: str,
    attempt: int = 1,
    account: str | None = None,
) -> tuple[Request, dict[str, Path], dict[str, Any]]:
    """The request, the local sources of its channels (config file included) and the container recipe."""
    from twin_core.training.recipes import write_config

    folder = paths.run_dir / "sagemaker"
    recipe_cfg, local = container_recipe(rendered, paths)
    local["config"] = write_config(recipe_cfg, folder / "config" / "axolotl.yaml", header="SageMaker container paths")
    root = ("training", registry_name, fingerprint[:16])
    channels = {k: s.s3_uri(*root, "input", k) + "/" for k in local}  # a prefix: files keep their names
    request = training_job_request(
        s,
        name=job_name(registry_name, fingerprint, attempt),
        role_arn=s.role_arn(account or ACCOUNT_PLACEHOLDER),
        channels=channels,
        checkpoint_uri=s.s3_uri(*root, "checkpoints"),
        output_uri=s.s3_uri(*root, "output"),
        environment=job_environment(recipe, "base" not in local),
    )
    return request, local, recipe_cfg


def _state(folder: Path) -> dict[str, Any]:
    path = folder / "state.json"
    return json.loads(path.read_text()) if path.is_file() else {"attempts": []}


def _wait(client: Any, name: str, poll_s: float) -> dict[str, Any]:
    last = None
    while True:
        job = client.describe_training_job(TrainingJobName=name)
        status = (job["TrainingJobStatus"], job.get("SecondaryStatus"))
        if status != last:
            log.info("SageMaker job %s: %s / %s", name, *status)
            last = status
        if job["TrainingJobStatus"] in DONE:
            return dict(job)
        time.sleep(poll_s)


def _fetch_model(sess: Any, job: dict[str, Any], run_dir: Path) -> tuple[Path, list[str]]:
    """Download and unpack ``model.tar.gz`` into ``run_dir/model``; the training log lines it carries."""
    from twin_core.cloud.aws import download

    archive = download(sess, job["ModelArtifacts"]["S3ModelArtifacts"], run_dir / "sagemaker" / "model.tar.gz")
    model = run_dir / "model"
    shutil.rmtree(model, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(model, filter="data")
    archive.unlink()
    log_file = model / "train.log"
    lines = log_file.read_text(errors="replace").splitlines() if log_file.is_file() else []
    log_file.unlink(missing_ok=True)
    return model, lines


def train_on_sagemaker(
    recipe: TrainerSettings,
    s: SageMakerTrainingSettings,
    rendered: dict[str, Any],
    paths: RunPaths,
    *,
    registry_name: str,
    fingerprint: str,
) -> tuple[dict[str, Any], Path]:
    """Render, submit (credentials permitting), wait, download: (summary/history like a local run, model dir)."""
    from twin_core.cloud.aws import account_id, call, require_credentials, upload
    from twin_core.training.tracking import parse_log_records

    folder, region = paths.run_dir / "sagemaker", s.resolved_region()
    state = _state(folder)
    done = folder / "done.json"
    if done.is_file() and (paths.run_dir / "model" / "config.json").is_file():
        log.info("SageMaker job already finished and downloaded; reusing %s", paths.run_dir / "model")
        return json.loads(done.read_text()), paths.run_dir / "model"
    attempt = len(state["attempts"]) or 1
    request, local, _ = render_job(
        recipe, s, rendered, paths, registry_name=registry_name, fingerprint=fingerprint, attempt=attempt
    )
    notes = "Upload the input channels first: " + ", ".join(f"{k} <- {v}" for k, v in sorted(local.items()))
    write_requests(folder / "requests", [request], region, notes=notes)
    what = f"SageMaker training job {request.params['TrainingJobName']}"
    sess = require_credentials(region, folder / "requests", what)
    client = sess.client("sagemaker")
    last = state["attempts"][-1] if state["attempts"] else None
    job = client.describe_training_job(TrainingJobName=last) if last else None
    if job is None or job["TrainingJobStatus"] in ("Failed", "Stopped"):
        attempt = len(state["attempts"]) + 1  # a new job resumes from the S3 checkpoints of the failed one
        request, local, _ = render_job(
            recipe,
            s,
            rendered,
            paths,
            registry_name=registry_name,
            fingerprint=fingerprint,
            attempt=attempt,
            account=account_id(sess),
        )
        write_requests(folder / "requests", [request], region, notes=notes)  # with the real account and attempt
        for channel, source in local.items():
            upload(sess, source, request_channel(request, channel))
        call(client, request)
        state["attempts"].append(request.params["TrainingJobName"])
        (folder / "state.json").write_text(json.dumps(state, indent=2) + "\n")
    name = state["attempts"][-1]
    if not s.wait:
        raise RuntimeError(f"SageMaker job {name} submitted (trainer.sagemaker.wait=false); re-run the step to collect")
    job = _wait(client, name, s.poll_s)
    if job["TrainingJobStatus"] != "Completed":
        raise RuntimeError(f"SageMaker job {name} {job['TrainingJobStatus']}: {job.get('FailureReason', 'no reason')}")
    model, lines = _fetch_model(sess, job, paths.run_dir)
    records, summary = parse_log_records(lines)
    result = {"summary": summary, "history": records, "resumed_from": None, "sagemaker_job": name}
    done.write_text(json.dumps(result) + "\n")
    return result, model


def request_channel(request: Request, channel: str) -> str:
    """The S3 URI of one input channel of a ``CreateTrainingJob`` request."""
    for item in request.params["InputDataConfig"]:
        if item["ChannelName"] == channel:
            return str(item["DataSource"]["S3DataSource"]["S3Uri"])
    raise KeyError(f"no input channel {channel!r}")
