"""The demo base model trains under real Axolotl on CPU: validate, SFT, merge-lora, DPO, and resume from a checkpoint.

Needs the separate Axolotl venv: ``$TWIN_AXOLOTL_PYTHON`` or ``.venv-axolotl/bin/python``; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from twin_core.training.demo_model import build_demo_model

ROOT = Path(__file__).resolve().parents[2]
AXO_PY = Path(os.environ.get("TWIN_AXOLOTL_PYTHON", ROOT / ".venv-axolotl/bin/python"))
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not AXO_PY.exists(), reason=f"no Axolotl venv at {AXO_PY}"),
]
VALIDATE = ROOT / "twin_core/training/axolotl_validate.py"
TOPICS = ["backfills", "alerts", "chunking", "terminals", "newsletters", "tests"]
CPU_KEYS: dict[str, Any] = {
    "chat_template": "chatml",
    "sequence_len": 128,
    "val_set_size": 0.0,
    "adapter": "lora",
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.0,
    "lora_target_linear": True,
    "lora_mlp_kernel": False,
    "lora_qkv_kernel": False,
    "lora_o_kernel": False,
    "lora_embedding_kernel": False,
    "micro_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "optimizer": "adamw_torch",
    "lr_scheduler": "cosine",
    "warmup_steps": 2,
    "bf16": False,
    "fp16": False,
    "tf32": False,
    "load_in_8bit": False,
    "load_in_4bit": False,
    "attn_implementation": "sdpa",
    "gradient_checkpointing": False,
    "sample_packing": False,
    "logging_steps": 1,
    "save_strategy": "steps",
    "save_steps": 5,
    "seed": 42,
    "dataloader_num_workers": 0,
}


def _axolotl(*args: str, cwd: Path) -> str:
    env = {**os.environ, "AXOLOTL_DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    cmd = [str(AXO_PY.parent / "axolotl"), *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def _write(path: Path, cfg: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _history(out: Path, key: str) -> list[float]:
    last = max(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    state = json.loads((last / "trainer_state.json").read_text())
    return [float(h[key]) for h in state["log_history"] if key in h]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo base model plus SFT (messages) and DPO (prompt/chosen/rejected) jsonl files."""
    root = tmp_path_factory.mktemp("axolotl")
    texts = [f"My notes on {t}: keep it small, write it down, and test the boring parts first." for t in TOPICS]
    build_demo_model(texts * 8, root / "base", vocab_size=400, hidden=64, layers=2, heads=2, seq_len=64, steps=60)
    with (root / "sft.jsonl").open("w") as fh:
        for t, text in zip(TOPICS * 4, texts * 4, strict=True):
            msgs = [{"role": "user", "content": f"Write about {t}."}, {"role": "assistant", "content": text}]
            fh.write(json.dumps({"messages": msgs}) + "\n")
    with (root / "dpo.jsonl").open("w") as fh:
        for t, text in zip(TOPICS * 4, texts * 4, strict=True):
            row = {"prompt": f"Write about {t}.", "chosen": text, "rejected": "As an AI language model I cannot."}
            fh.write(json.dumps(row) + "\n")
    return root


def test_sft_merge_dpo_chain_and_validation(work: Path) -> None:
    sft_ds = {"path": str(work / "sft.jsonl"), "ds_type": "json", "type": "chat_template"}
    sft_ds |= {"field_messages": "messages", "roles_to_train": ["assistant"], "train_on_eos": "turn"}
    sft = {"base_model": str(work / "base"), "datasets": [sft_ds], "output_dir": str(work / "sft"), **CPU_KEYS}
    sft |= {"num_epochs": 3, "learning_rate": 5e-3, "dataset_prepared_path": str(work / "prep_sft")}
    dpo_ds = {"path": str(work / "dpo.jsonl"), "ds_type": "json", "split": "train", "type": "chatml.prompt_pairs"}
    dpo = {**sft, "base_model": str(work / "sft/merged"), "rl": "dpo", "rl_beta": 0.1, "datasets": [dpo_ds]}
    dpo |= {"output_dir": str(work / "dpo"), "dataset_prepared_path": str(work / "prep_dpo"), "learning_rate": 1e-3}
    typo = {**sft, "lorra_r": 8}
    files = [_write(work / f"{n}.yaml", c) for n, c in (("sft", sft), ("dpo", dpo), ("typo", typo))]

    proc = subprocess.run([str(AXO_PY), str(VALIDATE), *map(str, files)], capture_output=True, text=True, timeout=300)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"path"')]
    assert [r["ok"] for r in results] == [True, True, False], results
    assert "lorra_r" in results[2]["errors"][0]

    _axolotl("train", str(files[0]), "--launcher", "python", cwd=work)
    losses = _history(work / "sft", "loss")
    third = len(losses) // 3
    assert sum(losses[-third:]) / third < sum(losses[:third]) / third
    _axolotl("merge-lora", str(files[0]), "--lora-model-dir", str(work / "sft"), cwd=work)
    assert (work / "sft/merged/model.safetensors").exists()

    _axolotl("train", str(files[1]), "--launcher", "python", cwd=work)
    margins = _history(work / "dpo", "rewards/margins")
    assert margins[-1] > margins[0]
    assert sum(margins[-3:]) / 3 > 0


def test_killed_run_resumes_from_last_checkpoint(work: Path) -> None:
    ds = {"path": str(work / "sft.jsonl"), "ds_type": "json", "type": "chat_template", "field_messages": "messages"}
    cfg = {"base_model": str(work / "base"), "datasets": [ds], "output_dir": str(work / "resume"), **CPU_KEYS}
    cfg |= {"num_epochs": 2, "learning_rate": 1e-3, "save_total_limit": 10, "auto_resume_from_checkpoints": True}
    path = _write(work / "resume.yaml", cfg)
    _axolotl("train", str(path), "--launcher", "python", cwd=work)
    steps = sorted(int(p.name.split("-")[-1]) for p in (work / "resume").glob("checkpoint-*"))
    assert len(steps) >= 2
    for later in steps[1:]:  # simulate a crash right after the first checkpoint
        shutil.rmtree(work / "resume" / f"checkpoint-{later}")
    (work / "resume/adapter_model.safetensors").unlink()

    log = _axolotl("train", str(path), "--launcher", "python", cwd=work)
    assert f"resume from checkpoint at {work / 'resume'}/checkpoint-{steps[0]}" in log
    state = json.loads((work / f"resume/checkpoint-{steps[-1]}/trainer_state.json").read_text())
    logged = [h["step"] for h in state["log_history"] if "loss" in h]
    assert logged == list(range(1, steps[-1] + 1))
    assert (work / "resume/adapter_model.safetensors").exists()
