"""trainer.launcher=sagemaker: the CreateTrainingJob request field by field, the no-credentials failure, a fake run."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from twin_core.cloud.aws import CredentialsMissing
from twin_core.cloud.sagemaker_training import ENTRYPOINT, METRICS, job_name, render_job
from twin_core.cloud.settings import SageMakerTrainingSettings
from twin_core.training.recipes import RunPaths, render

ROOT = Path(__file__).resolve().parents[3]
ROLE = "arn:aws:iam::123456789012:role/LLMTwinSageMaker"
MOVED = {"base_model", "datasets", "test_datasets", "output_dir", "dataset_prepared_path", "deepspeed"}
BUCKET = "twin-bucket"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/llm-twin:0.1.0-cuda"
SAGEMAKER = [
    "trainer.launcher=sagemaker",
    f"+trainer.sagemaker.bucket={BUCKET}",
    f"+trainer.sagemaker.image_uri={IMAGE}",
    f"+trainer.sagemaker.role={ROLE}",
]


def _base(tmp_path: Path) -> Path:
    base = tmp_path / "base-model"
    base.mkdir()
    (base / "config.json").write_text("{}")
    return base


def test_training_job_request_field_by_field(make_settings: Callable[..., Any], tmp_path: Path) -> None:
    cfg = make_settings("model=hub", f"model.base={_base(tmp_path)}", "trainer=sft_lora_zero2", *SAGEMAKER)
    s = SageMakerTrainingSettings(
        bucket=BUCKET,
        image_uri=IMAGE,
        role="TwinTrainer",
        account_id="123456789012",
        instance_type="ml.g5.12xlarge",
        instance_count=2,
        volume_size_gb=300,
        max_runtime_s=7200,
        spot=True,
        keep_alive_s=600,
        kms_key_id="alias/twin",
        subnets=["subnet-1"],
        security_group_ids=["sg-1"],
        environment={"NCCL_DEBUG": "WARN"},
        tags={"team": "ml"},
    )
    run = tmp_path / "run"
    paths = RunPaths(cfg.model.base, run / "data/train.jsonl", run / "data/test.jsonl", run, "twin-sft-abc")
    rendered = render(cfg.trainer, cfg.model, paths)
    request, local, recipe = render_job(
        cfg.trainer, s, rendered, paths, registry_name="twin-sft", fingerprint="f" * 24, attempt=3
    )
    p = request.params
    assert (request.service, request.operation, request.method) == (
        "sagemaker",
        "CreateTrainingJob",
        "create_training_job",
    )
    assert p["TrainingJobName"] == "twin-sft-ffffffffffff-3"
    assert p["RoleArn"] == "arn:aws:iam::123456789012:role/TwinTrainer"
    algo = p["AlgorithmSpecification"]
    assert (algo["TrainingImage"], algo["TrainingInputMode"], algo["ContainerEntrypoint"]) == (
        IMAGE,
        "File",
        [ENTRYPOINT],
    )
    assert [m["Name"] for m in algo["MetricDefinitions"]] == ["train:loss", "eval:loss", "train:learning_rate"]
    assert algo["EnableSageMakerMetricsTimeSeries"] is True
    prefix = f"s3://{BUCKET}/llm-twin/training/twin-sft/{'f' * 16}"
    channels = {c["ChannelName"]: c for c in p["InputDataConfig"]}
    assert sorted(channels) == ["base", "config", "test", "train"]
    for name, channel in channels.items():
        source = channel["DataSource"]["S3DataSource"]
        assert source == {
            "S3DataType": "S3Prefix",
            "S3Uri": f"{prefix}/input/{name}/",
            "S3DataDistributionType": "FullyReplicated",
        }
        assert channel["CompressionType"] == "None"
    assert local == {
        "train": paths.train_file,
        "test": paths.test_file,
        "base": Path(cfg.model.base),
        "config": run / "sagemaker/config/axolotl.yaml",
    }
    assert p["OutputDataConfig"] == {
        "S3OutputPath": f"{prefix}/output",
        "CompressionType": "GZIP",
        "KmsKeyId": "alias/twin",
    }
    assert p["ResourceConfig"] == {
        "InstanceType": "ml.g5.12xlarge",
        "InstanceCount": 2,
        "VolumeSizeInGB": 300,
        "KeepAlivePeriodInSeconds": 600,
        "VolumeKmsKeyId": "alias/twin",
    }
    assert p["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 14400}
    assert p["EnableManagedSpotTraining"] is True
    assert p["CheckpointConfig"] == {"S3Uri": f"{prefix}/checkpoints", "LocalPath": "/opt/ml/checkpoints"}
    assert p["Environment"] == {
        "TWIN_AXOLOTL_CONFIG": "/opt/ml/input/data/config/axolotl.yaml",
        "TWIN_ADAPTER": "lora",
        "HF_HUB_OFFLINE": "1",
        "WANDB_MODE": "offline",
        "AXOLOTL_DO_NOT_TRACK": "1",
        "NCCL_DEBUG": "WARN",
    }
    assert p["VpcConfig"] == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    assert p["Tags"] == [{"Key": "team", "Value": "ml"}]
    # the container recipe: every path inside the container, the DeepSpeed json where the image keeps it
    written = yaml.safe_load(local["config"].read_text())
    assert written == recipe
    assert recipe["base_model"] == "/opt/ml/input/data/base"
    assert recipe["datasets"][0]["path"] == "/opt/ml/input/data/train/train.jsonl"
    assert recipe["test_datasets"][0]["path"] == "/opt/ml/input/data/test/test.jsonl"
    assert (recipe["output_dir"], recipe["dataset_prepared_path"]) == ("/opt/ml/checkpoints", "/tmp/twin/prepared")
    assert recipe["deepspeed"] == "/app/conf/trainer/deepspeed/zero2.json"
    assert (ROOT / "conf/trainer/deepspeed/zero2.json").is_file()  # the image copies conf/ to /app/conf
    script = ROOT / ENTRYPOINT.removeprefix("/app/")
    assert script.is_file() and os.access(script, os.X_OK)
    assert {k: v for k, v in recipe.items() if k not in MOVED} == {k: v for k, v in rendered.items() if k not in MOVED}


def test_hub_base_role_arn_and_on_demand_defaults(make_settings: Callable[..., Any], tmp_path: Path) -> None:
    cfg = make_settings("model=hub", "trainer=sft_qlora", *SAGEMAKER)
    s = cfg.trainer.sagemaker
    paths = RunPaths("org/model", tmp_path / "train.jsonl", None, tmp_path, "run")
    request, local, recipe = render_job(
        cfg.trainer, s, render(cfg.trainer, cfg.model, paths), paths, registry_name="twin-sft", fingerprint="a" * 24
    )
    p = request.params
    assert p["RoleArn"] == ROLE and sorted(local) == ["config", "train"]
    assert recipe["base_model"] == "org/model" and "test_datasets" not in recipe and "deepspeed" not in recipe
    assert p["Environment"]["HF_HUB_OFFLINE"] == "0" and p["Environment"]["TWIN_ADAPTER"] == "qlora"
    assert p["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400} and p["EnableManagedSpotTraining"] is False
    assert "VpcConfig" not in p and "KeepAlivePeriodInSeconds" not in p["ResourceConfig"]
    assert p["ResourceConfig"] == {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 200}


def test_job_names_and_metric_regexes() -> None:
    assert job_name("a" * 80, "0123456789abcdef", 12) == "a" * 47 + "-0123456789ab-12"
    assert len(job_name("a" * 80, "0123456789abcdef", 12)) == 63
    assert job_name("twin_x.sft", "0123456789abcdef", 1) == "twin-x-sft-0123456789ab-1"
    axolotl = "{'loss': '1.25', 'grad_norm': '3.1', 'learning_rate': '2e-05', 'epoch': '0.5'}"
    plain = "{'eval_loss': 0.875, 'eval_runtime': 1.2}"
    found = {m["Name"]: [re.search(m["Regex"], line) for line in (axolotl, plain)] for m in METRICS}
    assert found["train:loss"][0].group(1) == "1.25" and found["train:loss"][1] is None  # type: ignore[union-attr]
    assert found["eval:loss"][1].group(1) == "0.875"  # type: ignore[union-attr]
    assert found["train:learning_rate"][0].group(1) == "2e-05"  # type: ignore[union-attr]


def test_sft_without_credentials_fails_saying_where_the_requests_are(
    make_settings: Callable[..., Any], tmp_path: Path, datasets_written: Callable[[Path], None]
) -> None:
    from twin_core.training.steps import run_sft

    cfg = make_settings(
        "model=hub", f"model.base={_base(tmp_path)}", "trainer=sft_lora", *SAGEMAKER, "trainer.wandb_project=null"
    )
    datasets_written(cfg.paths.artifacts_dir)
    with pytest.raises(CredentialsMissing, match="no AWS credentials found") as info:
        run_sft(cfg)
    folder = Path(re.search(r"requests are in (\S+) ", str(info.value)).group(1))  # type: ignore[union-attr]
    assert folder.parent.name == "sagemaker" and folder.parent.parent.parent.name == "twin-sft"
    assert sorted(p.name for p in folder.iterdir()) == [
        "01-sagemaker-CreateTrainingJob.json",
        "requests.json",
        "submit.sh",
    ]
    params = json.loads((folder / "01-sagemaker-CreateTrainingJob.json").read_text())
    assert params["RoleArn"] == ROLE and params["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    script = (folder / "submit.sh").read_text()
    assert "aws sagemaker create-training-job --region eu-west-1 --cli-input-json file://" in script
    assert (folder.parent / "config/axolotl.yaml").is_file()


def _model_archive() -> bytes:
    buf = io.BytesIO()
    files = {"config.json": b"{}", "model.safetensors": b"w", "train.log": b"{'loss': '1.5', 'epoch': '1.0'}\n"}
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_sft_on_a_fake_sagemaker_registers_the_downloaded_model(
    make_settings: Callable[..., Any], tmp_path: Path, fake_aws: Any, datasets_written: Callable[[Path], None]
) -> None:
    from twin_core.training.steps import open_registry, run_sft

    cfg = make_settings(
        "model=hub",
        f"model.base={_base(tmp_path)}",
        "trainer=sft_lora",
        *SAGEMAKER,
        "trainer.wandb_project=null",
        "+trainer.sagemaker.poll_s=0.01",
    )
    datasets_written(cfg.paths.artifacts_dir)
    original = fake_aws.client

    def client(service: str) -> Any:  # the job's model.tar.gz appears under whatever name the job got
        for _, method, params in fake_aws.calls:
            if method == "create_training_job":
                fake_aws.objects[f"s3://fake/{params['TrainingJobName']}/output/model.tar.gz"] = _model_archive()
        return original(service)

    fake_aws.client = client
    result = run_sft(cfg)
    assert result.ok and result.details["version"] == "v1"
    methods = [(s, m) for s, m, _ in fake_aws.calls]
    assert ("sts", "get_caller_identity") in methods and ("sagemaker", "create_training_job") in methods
    uploads = sorted(p["args"][2] for s, m, p in fake_aws.calls if m == "upload_file")
    assert any(u.endswith("/input/config/axolotl.yaml") for u in uploads)
    assert any(u.endswith("/input/train/train.jsonl") for u in uploads)
    assert any(u.endswith("/input/base/config.json") for u in uploads)
    version = open_registry(cfg).get("twin-sft")
    assert version is not None and (version.path / "model.safetensors").is_file()
    assert version.manifest["metrics"]["logged_steps"] == 1
    again = run_sft(cfg)  # the same inputs: registered already, nothing submitted again
    assert again.details["skipped"] is True
    assert [m for _, m, _ in fake_aws.calls].count("create_training_job") == 1
