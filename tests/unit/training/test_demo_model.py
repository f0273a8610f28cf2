"""The tiny demo base model: ChatML tokenizer, brief pretraining, DEMO card, determinism per seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin_core.training.demo_model import CHATML_TEMPLATE, build_demo_model

TEXTS = [
    "Backfills are the part of a data pipeline nobody puts on the slide. They run at three in the morning.",
    "I keep my terminal plain: a shell, an editor, and a notes file that I actually read on Mondays.",
    "Chunking is a product decision, not a preprocessing detail. Pick the unit your readers will quote.",
    "On call taught me that an alert nobody acts on is a bug in the alert, not in the person asleep.",
] * 6
TINY = {"vocab_size": 400, "hidden": 32, "layers": 1, "heads": 2, "seq_len": 64, "steps": 30, "batch_size": 4}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny demo model, built once for the module."""
    return build_demo_model(TEXTS, tmp_path_factory.mktemp("demo") / "model", seed=0, **TINY)


def test_pretraining_loss_decreases(demo_dir: Path) -> None:
    metrics = json.loads((demo_dir / "pretrain_metrics.json").read_text())
    losses = metrics["losses"]
    assert len(losses) == TINY["steps"]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5
    assert metrics["demo"] is True


def test_tokenizer_is_chatml_with_special_tokens(demo_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(demo_dir)
    assert tok.chat_template == CHATML_TEMPLATE
    assert (tok.bos_token, tok.eos_token, tok.pad_token, tok.unk_token) == ("<s>", "<|im_end|>", "<pad>", "<unk>")
    for special in ("<|im_start|>", "<|im_end|>"):
        assert len(tok(special, add_special_tokens=False)["input_ids"]) == 1
    text = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
    assert text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert tok.decode(tok("Backfills run at 3am.")["input_ids"]) == "Backfills run at 3am."


def test_model_loads_generates_and_is_labelled_demo(demo_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(demo_dir)
    model = AutoModelForCausalLM.from_pretrained(demo_dir)
    assert model.config.model_type == "llama"
    assert model.config.eos_token_id == tok.eos_token_id
    prompt = tok.apply_chat_template([{"role": "user", "content": "Write"}], add_generation_prompt=True, tokenize=False)
    ids = torch.tensor([tok(prompt, add_special_tokens=False)["input_ids"]])
    out = model.generate(ids, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > ids.shape[1]
    assert "DEMO model" in (demo_dir / "README.md").read_text()


def test_same_seed_same_bytes(demo_dir: Path, tmp_path: Path) -> None:
    again = build_demo_model(TEXTS, tmp_path / "again", seed=0, **TINY)
    for name in ("model.safetensors", "tokenizer.json"):
        assert (again / name).read_bytes() == (demo_dir / name).read_bytes()


def test_empty_texts_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        build_demo_model(["", "  "], tmp_path / "none")
