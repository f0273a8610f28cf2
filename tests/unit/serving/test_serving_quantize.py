"""The CPU quantization report's measurements, checked against numbers known by construction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from twin_core.serving.quantize import load, load_texts, markdown, perplexity, state_dict_bytes


def test_uniform_model_has_perplexity_equal_to_vocabulary_size(tiny_llama: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    tok = AutoTokenizer.from_pretrained(tiny_llama)
    with torch.no_grad():
        model.lm_head.weight.zero_()  # every logit 0: each next token has probability 1/V
    ppl, scored = perplexity(model, tok, ["the quick brown fox", "dog"])
    assert ppl == pytest.approx(model.config.vocab_size, rel=1e-5)
    assert scored == len(tok("the quick brown fox")["input_ids"]) - 1  # "dog" alone predicts nothing


def test_int8_dynamic_state_dict_is_smaller(tiny_llama: Path) -> None:
    base, _ = load(tiny_llama, quantized=False)
    quant, _ = load(tiny_llama, quantized=True)
    linear = sum(m.weight.numel() for m in base.modules() if isinstance(m, torch.nn.Linear))
    saved = state_dict_bytes(base) - state_dict_bytes(quant)
    assert saved > 0.6 * 3 * linear  # 3 of 4 bytes saved per Linear weight, less scales and overhead


def test_heldout_texts_from_txt_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "h.txt").write_text("one\n\ntwo\nthree\n")
    rows = [{"output": "a b"}, {"text": "c"}, {"other": 1}]
    (tmp_path / "h.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert load_texts(tmp_path / "h.txt", 2) == ["one", "two"]
    assert load_texts(tmp_path / "h.jsonl", 10) == ["a b", "c"]
    assert len(load_texts(None, 3)) == 3


def test_markdown_puts_both_variants_side_by_side() -> None:
    side = {"state_dict_bytes": 100, "tokens_per_s": 10.0, "perplexity": 5.0}
    report = {
        "model": "/m",
        "created_at": "t",
        "machine": {"node": "n", "torch": "2", "torch_threads": 1},
        "prompts": 2,
        "max_tokens": 4,
        "heldout": "built-in texts",
        "none": side,
        "cpu_int8_dynamic": side | {"state_dict_bytes": 30},
        "size_ratio": 0.3,
        "speedup": 1.0,
        "perplexity_delta": 0.0,
        "greedy_agreement": 1.0,
    }
    text = markdown(report)
    assert "| state dict bytes | 100 | 30 |" in text and "Size x0.3" in text and "100% of prompts" in text
