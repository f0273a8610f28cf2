"""The training steps under real Axolotl on CPU: demo base model, SFT killed mid-way and resumed, DPO, registry.

Needs the Axolotl venv (``$TWIN_AXOLOTL_PYTHON`` or ``.venv-axolotl/bin/python``); skipped with a message otherwise.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from twin_core.training.runner import AxolotlFailed, axolotl_python

ROOT = Path(__file__).resolve().parents[2]
AXO_PY = Path(os.environ.get("TWIN_AXOLOTL_PYTHON", ROOT / ".venv-axolotl/bin/python"))
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not AXO_PY.exists(), reason=f"Axolotl venv not found at {AXO_PY} (make setup creates it)"),
]
TOPICS = ["backfills", "alerts", "chunking", "terminals", "newsletters", "tests"]
TEXTS = [f"My notes on {t}: keep it small, write it down, and test the boring parts first." for t in TOPICS]
TINY = [
    "model.demo_build.vocab_size=400",
    "model.demo_build.hidden=64",
    "model.demo_build.heads=2",
    "model.demo_build.seq_len=64",
    "model.demo_build.steps=60",
    "model.max_seq_length=128",
    "trainer.wandb_project=null",  # W&B (offline) is exercised by the DPO run only
    "trainer.dpo.epochs=1",  # 24 pairs / 4 per step = 6 DPO steps
]
# SFT: 24 rows / 2 per step x 3 epochs = 36 steps, a checkpoint every 9: a kill after the first one lands mid-run.
SFT_KILL = ["trainer.micro_batch_size=2", "trainer.epochs=3", "trainer.save_steps=9", "trainer.learning_rate=5e-3"]


def _write_version(artifacts: Path, kind: str, version: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    """A dataset version laid out as the dataset step writes it: DatasetDict, manifest.json, relative ``latest``."""
    from datasets import Dataset, DatasetDict

    root = artifacts / "datasets" / kind
    DatasetDict({k: Dataset.from_list(v) for k, v in rows.items()}).save_to_disk(str(root / version))
    manifest = {"kind": kind, "version": version, "splits": {k: len(v) for k, v in rows.items()}}
    (root / version / "manifest.json").write_text(json.dumps(manifest))
    (root / "latest").symlink_to(version, target_is_directory=True)


def _conversation(topic: str, text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Write about {topic}."}, {"role": "assistant", "content": text}]


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Real composed settings, made tiny, with cleaned documents in the warehouse and both datasets published."""
    from hydra.core.global_hydra import GlobalHydra

    from twin_core.config.loader import load_settings
    from twin_core.domain.documents import CleanedDocument
    from twin_core.warehouse import connect

    os.environ.setdefault("TWIN_AXOLOTL_PYTHON", str(AXO_PY))
    data = tmp_path_factory.mktemp("training")
    settings = load_settings([f"paths.data_dir={data}", *TINY, *SFT_KILL])
    GlobalHydra.instance().clear()
    settings.paths.ensure()
    docs = [
        CleanedDocument(
            id=f"doc{i}",
            category="article",
            platform="blog",
            link=f"https://example.org/{i}",
            author_id="a1",
            author_name="Jane Doe",
            content=" ".join(TEXTS[i:] + TEXTS[:i]) * 3,
            raw_content_hash=f"h{i}",
        )
        for i in range(len(TEXTS))
    ]
    with connect(settings.warehouse) as wh:
        wh.upsert_cleaned(docs)
    sft = [{"messages": _conversation(t, x), "text": "(rendered)"} for t, x in zip(TOPICS * 4, TEXTS * 4, strict=True)]
    pref = [
        {
            "prompt": f"<|im_start|>user\nWrite about {t}.<|im_end|>\n<|im_start|>assistant\n",
            "messages": _conversation(t, x),
            "chosen": x,
            "rejected": "As an AI language model I cannot help with that.",
        }
        for t, x in zip(TOPICS * 4, TEXTS * 4, strict=True)
    ]
    _write_version(settings.paths.artifacts_dir, "instruction", "ins001", {"train": sft, "test": sft[:6]})
    _write_version(settings.paths.artifacts_dir, "preference", "pref001", {"train": pref, "test": pref[:6]})
    yield settings


@pytest.fixture(scope="module")
def base(cfg: Any) -> Any:
    """The demo base model, built once from the warehouse (the first run of the base_model step)."""
    from twin_core.training.base_model import run_base_model

    return run_base_model(cfg)


def _kill_after_first_checkpoint(runs: Path, stop: threading.Event) -> dict[str, Any]:
    """Watch for the first complete checkpoint, then SIGKILL the Axolotl process group (a real crash)."""
    seen: dict[str, Any] = {}
    while not stop.is_set():
        states = list(runs.glob("*/out/checkpoint-*/trainer_state.json"))
        pids = list(runs.glob("*/axolotl.pid"))
        if states and pids:
            seen["checkpoint"] = states[0].parent.name
            os.killpg(int(pids[0].read_text()), signal.SIGKILL)
            return seen
        time.sleep(0.02)
    return seen


def test_base_model_is_built_once(cfg: Any, base: Any) -> None:
    from twin_core.training.base_model import run_base_model

    assert not base.details["skipped"] and base.counts["documents"] == len(TEXTS)
    assert (Path(cfg.model.base) / "build.json").is_file()
    assert "DEMO model" in (Path(cfg.model.base) / "README.md").read_text()
    assert run_base_model(cfg).details["skipped"] is True


def test_sft_killed_midway_resumes_and_loss_decreases(cfg: Any, base: Any) -> None:
    from twin_core.training.steps import open_registry, run_sft

    assert axolotl_python() == AXO_PY
    runs = cfg.paths.models_dir / "runs" / "twin-sft"
    stop = threading.Event()
    seen: dict[str, Any] = {}
    watcher = threading.Thread(target=lambda: seen.update(_kill_after_first_checkpoint(runs, stop)), daemon=True)
    watcher.start()
    with pytest.raises(AxolotlFailed, match="killed by signal 9"):
        run_sft(cfg)
    stop.set()
    watcher.join()
    assert seen.get("checkpoint"), "the run ended before a checkpoint appeared"

    result = run_sft(cfg)
    resumed = result.details["resumed_from"]
    assert resumed and int(resumed.split("-")[1]) >= int(seen["checkpoint"].split("-")[1])
    train_log = (Path(result.artifacts["run_dir"]) / "train.log").read_text()
    assert f"resume from checkpoint at {runs}" in train_log
    version = open_registry(cfg).get("twin-sft", stage="candidate")
    assert version is not None and version.version == "v1"
    metrics = version.manifest["metrics"]
    assert metrics["logged_steps"] == 36  # every step exactly once across the killed and the resumed run
    assert metrics["loss"]["last_third_mean"] < metrics["loss"]["first_third_mean"]
    assert version.manifest["datasets"][0] | {"path": ""} == {
        "kind": "instruction",
        "version": "ins001",
        "manifest_id": version.manifest["datasets"][0]["manifest_id"],
        "path": "",
        "rows": {"train": 24, "test": 6},
    }
    assert (version.path / "model.safetensors").is_file() and (version.path / "recipe.yaml").is_file()
    assert "DEMO model" in (version.path / "README.md").read_text()


def test_dpo_starts_from_merged_sft_and_margin_increases(cfg: Any, base: Any) -> None:
    from twin_core.training.steps import open_registry, run_dpo, run_sft

    run_sft(cfg)  # skipped when the SFT test registered it already
    result = run_dpo(cfg)
    version = open_registry(cfg).get("twin-dpo", result.details["version"])
    assert version is not None and version.stages == ("candidate",)
    manifest = version.manifest
    assert manifest["parent"] == {"name": "twin-sft", "version": "v1"}
    assert manifest["base_model"]["registry"] == "twin-sft/v1"
    assert manifest["datasets"][0]["version"] == "pref001"
    margins = manifest["metrics"]["rewards_margins"]
    assert margins["last_third_mean"] > margins["first_third_mean"] and margins["last"] > 0
    assert "rl: dpo" in (version.path / "recipe.yaml").read_text()
    tracking = manifest["tracking"]
    assert tracking["mode"] == "offline" and list(Path(tracking["dir"]).glob("offline-run-*"))


def test_rerun_is_skipped_and_promotion_works(cfg: Any, base: Any) -> None:
    from twin_core.training.steps import open_registry, run_dpo, run_sft

    run_sft(cfg)  # trained by the tests above (or now, when this test runs alone)
    run_dpo(cfg)
    started = time.perf_counter()
    assert run_sft(cfg).details["skipped"] and run_dpo(cfg).details["skipped"]
    assert time.perf_counter() - started < 10  # no Axolotl process was started
    registry = open_registry(cfg)
    assert [v.version for v in registry.list_versions("twin-sft")] == ["v1"]
    registry.promote("twin-dpo", "v1", "production")
    assert registry.get("twin-dpo", stage="production").version == "v1"  # type: ignore[union-attr]
