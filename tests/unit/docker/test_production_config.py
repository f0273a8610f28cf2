"""experiment=production: every backend on its server, validated here; the images' config root; Airflow variants."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from twin_core.cli import main
from twin_core.config.loader import validate_config

ROOT = Path(__file__).resolve().parents[3]
ENV = ("MONGODB_URI", "WEAVIATE_URL", "TWIN_DATA_DIR", "TWIN_BASE_MODEL", "TWIN_WEAVIATE_REPLICATION", "TWIN_API_PORT")


@pytest.fixture(autouse=True)
def no_server_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The defaults of conf/experiment/production.yaml, whatever this machine's environment holds."""
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    yield
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()


def test_validate_production_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "experiment=production"]) == 0
    out = capsys.readouterr().out
    assert "config OK" in out and "warehouse=mongodb" in out and "vector_store=weaviate" in out


def test_production_switches_every_backend_to_its_server() -> None:
    s = validate_config(["experiment=production"])
    assert (s.warehouse.engine, s.warehouse.uri) == ("mongodb", "mongodb://mongodb:27017/?replicaSet=rs0")
    assert (s.vector_store.backend, s.vector_store.url) == ("weaviate", "http://weaviate:8080")
    assert (s.vector_store.replication_factor, s.vector_store.consistency_level) == (1, "QUORUM")
    assert (s.serving.backend, s.serving.host, s.serving.target) == ("tensorrt_llm", "0.0.0.0", "local")
    assert (s.trainer.device, s.trainer.recipe, s.trainer.launcher) == ("cuda", "sft_lora", "local")
    assert s.trainer.sagemaker.role == "LLMTwinSageMakerExecution" and s.serving.sagemaker.endpoint_name == "llm-twin"
    assert (s.airflow.run_mode, s.airflow.container.image) == ("kubernetes", "llm-twin:0.1.0-cuda")
    assert s.pipeline.steps[-1] == "engine" and s.model.demo is False
    assert str(s.paths.data_dir) == "/data" and s.run_name == "production"
    assert (s.api.host, s.api.port) == ("0.0.0.0", 8080)
    assert (s.llm.device, s.evaluation.lmeval.device) == ("auto", "cuda")


def test_production_reads_urls_and_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://a:27017,b:27017/?replicaSet=rs1")
    monkeypatch.setenv("WEAVIATE_URL", "https://weaviate.example.com")
    monkeypatch.setenv("TWIN_WEAVIATE_REPLICATION", "3")
    monkeypatch.setenv("TWIN_SAGEMAKER_BUCKET", "twin-artifacts")
    monkeypatch.setenv("TWIN_SAGEMAKER_TRAINING_IMAGE", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/llm-twin:cuda")
    s = validate_config(["experiment=production", "trainer=sft_lora_zero2", "trainer.launcher=sagemaker"])
    assert s.warehouse.uri == "mongodb://a:27017,b:27017/?replicaSet=rs1"
    assert (s.vector_store.url, s.vector_store.replication_factor) == ("https://weaviate.example.com", 3)
    assert (s.trainer.launcher, s.trainer.sagemaker.bucket, s.trainer.distributed) == (
        "sagemaker",
        "twin-artifacts",
        "deepspeed_zero2",
    )


def test_image_config_root_composes_production_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "conf"
    subprocess.run([str(ROOT / "docker/scripts/make-conf.sh"), str(ROOT / "conf"), str(out)], check=True)
    assert (out / "trainer").is_symlink() and (out / "trainer" / "deepspeed" / "zero3.json").is_file()
    monkeypatch.setenv("TWIN_CONF_DIR", str(out))
    assert validate_config([]).run_name == "production"
    assert validate_config(["~experiment"]).warehouse.engine == "embedded"
    bad = subprocess.run([str(ROOT / "docker/scripts/make-conf.sh"), str(ROOT / "conf"), str(out), "nope"])
    assert bad.returncode == 2


@pytest.mark.parametrize("variant", ["default", "docker", "kubernetes"])
def test_airflow_variants_load_for_the_dag_factory(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from twin_core.orchestration.dagspec import load_airflow_settings

    monkeypatch.setenv("TWIN_AIRFLOW_CONFIG", variant)
    s = load_airflow_settings()
    default = load_airflow_settings(ROOT / "conf/airflow/default.yaml")
    assert s.dags == default.dags and s.pools == default.pools and s.stages == default.stages
    assert s.run_mode == {"default": "subprocess", "docker": "docker", "kubernetes": "kubernetes"}[variant]
    if variant != "default":
        assert s.container.image == "llm-twin:0.1.0-cuda" and s.container.data_mount == "/data"
        assert s.container.env["TWIN_CONF_DIR"] == "/opt/twin/conf"
    hydra = validate_config([f"airflow={variant}"]).airflow
    assert hydra.model_dump() == s.model_dump()  # Hydra and the DAG factory read the same settings
