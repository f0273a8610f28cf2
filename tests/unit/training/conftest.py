"""Training test helpers: dataset versions laid out as the dataset step writes them, and a fake Axolotl."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CONVERSATION = [{"role": "user", "content": "Write about backfills."}, {"role": "assistant", "content": "Run them."}]
PREFERENCE = {
    "prompt": "<|im_start|>user\nWrite about backfills.<|im_end|>\n<|im_start|>assistant\n",
    "messages": CONVERSATION,
    "chosen": "Run them.",
    "rejected": "As an AI I cannot.",
}

# Emulates `python axolotl_main.py <command> cfg.yaml`: train writes checkpoints and prints metric dicts;
# merge-lora writes <output_dir>/merged. FAKE_AXOLOTL_FAIL=1: train exits 3 after its first checkpoint;
# FAKE_AXOLOTL_MERGE_FAIL=1: merge-lora exits 4.
FAKE_AXOLOTL = r"""
import json, os, sys
from pathlib import Path
import yaml
command, cfg_path = sys.argv[2], sys.argv[3]
cfg = yaml.safe_load(open(cfg_path))
out = Path(cfg["output_dir"])
out.mkdir(parents=True, exist_ok=True)
with open(os.environ["FAKE_AXOLOTL_CALLS"], "a") as fh:
    fh.write(command + "\n")
if command == "train":
    done = sorted(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*") if (p / "trainer_state.json").exists())
    start = done[-1] if done else 0
    if start:
        print(f"Using auto-resume functionality to resume from checkpoint at {out}/checkpoint-{start}")
    history = []
    if start:
        history = json.loads((out / f"checkpoint-{start}" / "trainer_state.json").read_text())["log_history"]
    for step in range(start + 1, 7):
        rec = {"loss": 2.0 - step * 0.2, "rewards/margins": step * 0.5, "epoch": step / 6}
        print(" 50%|#####     | 3/6 [00:01<00:01]" + str({k: str(v) for k, v in rec.items()}), flush=True)
        history.append(rec | {"step": step})
        if step % 2 == 0:
            ck = out / f"checkpoint-{step}"
            ck.mkdir()
            (ck / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": history}))
            if os.environ.get("FAKE_AXOLOTL_FAIL") and step == 2:
                print("Traceback: simulated crash", flush=True)
                sys.exit(3)
    print("{'train_runtime': '1.5', 'train_loss': '1.3', 'epoch': '1'}")
    (out / "adapter_model.safetensors").write_bytes(b"adapter")
elif command == "merge-lora":
    if os.environ.get("FAKE_AXOLOTL_MERGE_FAIL"):
        sys.exit(4)
    merged = out / "merged"
    merged.mkdir()
    (merged / "config.json").write_text("{}")
    (merged / "model.safetensors").write_bytes(b"weights")
"""


def write_version(artifacts: Path, kind: str, version: str, rows: dict[str, list[dict[str, Any]]]) -> Path:
    """A DatasetDict version with manifest.json and a relative ``latest`` symlink (the dataset step's layout)."""
    from datasets import Dataset, DatasetDict

    root = artifacts / "datasets" / kind
    path = root / version
    features = Dataset.from_list(next(v for v in rows.values() if v)).features  # empty splits keep the schema
    splits = {
        k: Dataset.from_dict({c: [r[c] for r in v] for c in features}, features=features) for k, v in rows.items()
    }
    DatasetDict(splits).save_to_disk(str(path))
    (path / "manifest.json").write_text(json.dumps({"kind": kind, "version": version}))
    link = root / "latest"
    link.unlink(missing_ok=True)
    link.symlink_to(version, target_is_directory=True)
    return path


@pytest.fixture
def write_dataset() -> Callable[..., Path]:
    """``write_version`` as a fixture (conftest modules cannot be imported by tests)."""
    return write_version


@pytest.fixture
def datasets_written() -> Callable[[Path], None]:
    """Write one instruction and one preference version (train + test) under an artifacts folder."""

    def _write(artifacts: Path) -> None:
        rows = [{"messages": CONVERSATION, "text": "x"}] * 4
        write_version(artifacts, "instruction", "ins1", {"train": rows, "test": rows[:1]})
        write_version(artifacts, "preference", "pref1", {"train": [PREFERENCE] * 4, "test": [PREFERENCE]})

    return _write


@pytest.fixture
def fake_axolotl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake Axolotl python (``$TWIN_AXOLOTL_PYTHON``); returns the file listing the commands it ran."""
    script = tmp_path / "fake_axolotl.py"
    script.write_text(FAKE_AXOLOTL)
    exe = tmp_path / "fake-python"
    exe.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls.txt"
    calls.touch()
    monkeypatch.setenv("TWIN_AXOLOTL_PYTHON", str(exe))
    monkeypatch.setenv("FAKE_AXOLOTL_CALLS", str(calls))
    return calls
