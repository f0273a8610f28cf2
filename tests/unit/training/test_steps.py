"""run_sft / run_dpo orchestration against a fake Axolotl: chain, registry, lineage, resume, idempotency, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.training.base_model import BUILD_FILE, BaseModelMissing
from twin_core.training.inputs import DatasetMissing
from twin_core.training.runner import AxolotlFailed
from twin_core.training.steps import open_registry, run_dpo, run_sft


@pytest.fixture
def cfg(make_settings: Callable[..., Any], datasets_written: Callable[[Path], None], fake_axolotl: Path) -> Any:
    """Default settings with a "built" demo base, both datasets, and the fake Axolotl."""
    settings = make_settings("trainer.wandb_project=null", "trainer.dpo.wandb_project=null")
    base = Path(settings.model.base)
    base.mkdir(parents=True)
    (base / BUILD_FILE).write_text('{"corpus_hash": "c1"}')
    datasets_written(settings.paths.artifacts_dir)
    return settings


def _calls(fake_axolotl: Path) -> list[str]:
    return fake_axolotl.read_text().split()


def test_sft_then_dpo_register_candidates_with_lineage(cfg: Any, fake_axolotl: Path) -> None:
    sft = run_sft(cfg)
    dpo = run_dpo(cfg)
    assert _calls(fake_axolotl) == ["train", "merge-lora", "train", "merge-lora"]
    registry = open_registry(cfg)
    s, d = registry.get("twin-sft", stage="candidate"), registry.get("twin-dpo", stage="candidate")
    assert (s.version, d.version) == ("v1", "v1")  # type: ignore[union-attr]
    assert s.manifest["datasets"][0]["version"] == "ins1" and d.manifest["datasets"][0]["version"] == "pref1"
    assert s.manifest["datasets"][0]["rows"] == {"train": 4, "test": 1}
    assert d.manifest["parent"] == {"name": "twin-sft", "version": "v1"}
    assert d.manifest["base_model"]["path"] == str(s.path)
    assert s.manifest["metrics"]["loss"]["first"] == pytest.approx(1.8)
    assert s.manifest["metrics"]["loss"]["last"] == pytest.approx(0.8)
    assert d.manifest["metrics"]["rewards_margins"]["last"] == pytest.approx(3.0)
    assert s.manifest["metrics"]["train_runtime"] == 1.5 and s.manifest["demo"] is True
    assert (s.path / "model.safetensors").read_bytes() == b"weights"
    recipe = (d.path / "recipe.yaml").read_text()
    assert f"base_model: {s.path}" in recipe and "rl: dpo" in recipe
    assert sft.metrics["loss_last"] == pytest.approx(0.8) and dpo.details["version"] == "v1"
    run_dir = Path(sft.artifacts["run_dir"])
    assert not list((run_dir / "out").glob("checkpoint-*"))  # cleaned once registered
    assert (run_dir / "axolotl.yaml").is_file() and (run_dir / "train.log").is_file()


def test_rerun_with_same_inputs_is_skipped(cfg: Any, fake_axolotl: Path) -> None:
    run_sft(cfg)
    again = run_sft(cfg)
    assert again.details["skipped"] is True and again.details["version"] == "v1"
    assert _calls(fake_axolotl) == ["train", "merge-lora"]


def test_changed_recipe_trains_a_new_version(cfg: Any, make_settings: Callable[..., Any]) -> None:
    run_sft(cfg)
    changed = make_settings("trainer.wandb_project=null", "trainer.learning_rate=1e-4")
    result = run_sft(changed)
    assert result.details["version"] == "v2"
    assert open_registry(cfg).get("twin-sft", stage="candidate").version == "v2"  # type: ignore[union-attr]


def test_crashed_run_resumes_from_its_last_checkpoint(
    cfg: Any, fake_axolotl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_AXOLOTL_FAIL", "1")
    with pytest.raises(AxolotlFailed, match=r"exited with code 3[\s\S]*simulated crash") as err:
        run_sft(cfg)
    assert err.value.log_path is not None and err.value.log_path.name == "train.log"
    out = err.value.log_path.parent / "out"
    (out / "checkpoint-4").mkdir()  # a checkpoint the crash left half-written (no trainer_state.json)
    monkeypatch.delenv("FAKE_AXOLOTL_FAIL")
    result = run_sft(cfg)
    assert result.details["resumed_from"] == "checkpoint-2"
    assert "resume from checkpoint at" in (err.value.log_path).read_text()
    version = open_registry(cfg).get("twin-sft")
    assert version is not None and version.manifest["metrics"]["logged_steps"] == 6


def test_failed_merge_reruns_the_merge_only(cfg: Any, fake_axolotl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_AXOLOTL_MERGE_FAIL", "1")
    with pytest.raises(AxolotlFailed, match="axolotl merge-lora exited with code 4"):
        run_sft(cfg)
    out = next(cfg.paths.models_dir.glob("runs/twin-sft/*/out"))
    assert json.loads((out / ".twin-train-done.json").read_text())["summary"]["train_loss"] == 1.3
    monkeypatch.delenv("FAKE_AXOLOTL_MERGE_FAIL")
    assert run_sft(cfg).details["version"] == "v1"
    assert _calls(fake_axolotl) == ["train", "merge-lora", "merge-lora"]


def test_sft_step_refuses_a_dpo_recipe(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match="trainer=cpu_tiny_dpo is a DPO recipe"):
        run_sft(make_settings("trainer=cpu_tiny_dpo"))


def test_dpo_needs_a_registered_sft_model(cfg: Any) -> None:
    with pytest.raises(FileNotFoundError, match="no SFT model registered as 'twin-sft'; run `twin step sft`"):
        run_dpo(cfg)


def test_missing_dataset_names_the_step_to_run(make_settings: Callable[..., Any], fake_axolotl: Path) -> None:
    cfg = make_settings()
    base = Path(cfg.model.base)
    base.mkdir(parents=True)
    (base / BUILD_FILE).write_text("{}")
    with pytest.raises(DatasetMissing, match=r"no instruction dataset .* run `twin pipeline=dataset` first"):
        run_sft(cfg)


def test_demo_base_must_be_built_first(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(BaseModelMissing, match="run `twin step base_model` first"):
        run_sft(make_settings())


def test_dpo_starts_from_the_sft_version_of_the_current_recipe(cfg: Any, make_settings: Callable[..., Any]) -> None:
    run_sft(cfg)
    other = make_settings("trainer.wandb_project=null", "trainer.dpo.wandb_project=null", "trainer.learning_rate=1e-4")
    run_sft(other)  # v2, now the latest
    assert open_registry(cfg).get("twin-dpo") is None
    run_dpo(cfg)
    assert open_registry(cfg).get("twin-dpo").manifest["parent"]["version"] == "v1"  # type: ignore[union-attr]
    alone = make_settings("trainer=cpu_tiny_dpo", "trainer.wandb_project=null")
    run_dpo(alone)  # a DPO recipe on its own: the latest SFT version
    assert open_registry(cfg).get("twin-dpo").manifest["parent"]["version"] == "v2"  # type: ignore[union-attr]


def test_hub_push_happens_once_and_a_failure_is_retried(
    make_settings: Callable[..., Any],
    datasets_written: Callable[[Path], None],
    fake_axolotl: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from twin_core.training import registry as registry_module

    pushes: list[str] = []

    def fake_push(version: Any, repo: str, token: str) -> str:
        pushes.append(f"{version.name}/{version.version}->{repo}")
        if len(pushes) == 1:
            raise OSError("offline")
        return f"https://hf.co/{repo}"

    monkeypatch.setattr(registry_module, "push_to_hub", fake_push)
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    cfg = make_settings("trainer.wandb_project=null", "model.hub_repo=me/twin")
    base = Path(cfg.model.base)
    base.mkdir(parents=True)
    (base / BUILD_FILE).write_text("{}")
    datasets_written(cfg.paths.artifacts_dir)
    assert run_sft(cfg).details["hub"] == "failed: OSError: offline"
    assert run_sft(cfg).details["hub"] == "https://hf.co/me/twin-sft"  # skipped run retries the push
    assert run_sft(cfg).details["hub"] == "https://hf.co/me/twin-sft"
    assert pushes == ["twin-sft/v1->me/twin-sft"] * 2
