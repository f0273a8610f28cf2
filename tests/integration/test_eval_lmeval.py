"""lm-eval-harness on a tiny random Llama built here: our generated tasks give finite perplexity and text metrics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from twin_core.evaluation import lmeval
from twin_core.evaluation.settings import LmEvalSettings

pytestmark = pytest.mark.integration
TEXTS = [f"Backfills run per day, partition {i}. Keep them small, idempotent, and boring!" for i in range(40)]


def test_generated_tasks_on_a_tiny_llama(tmp_path: Path) -> None:
    from twin_core.llm.chat import load_chat_tokenizer, render_chat
    from twin_core.llm.tiny import build_tiny_chat_model

    model = build_tiny_chat_model(tmp_path / "tiny", TEXTS, hidden=32)
    tok = load_chat_tokenizer(str(model))

    def prompt(text: str) -> str:
        return render_chat(tok, [{"role": "user", "content": text}], add_generation_prompt=True)

    rows = [
        lmeval.TaskRow(f"s{i}", prompt(f"Write about backfill {i}."), TEXTS[i], prompt(f"[1] {TEXTS[i + 1]}\n\n{i}?"))
        for i in range(5)
    ]
    tasks = [lmeval.TASK_PERPLEXITY, lmeval.TASK_GENERATION, lmeval.TASK_RAG]
    settings = LmEvalSettings(batch_size=5, max_new_tokens=8, standard_tasks=[])
    out = lmeval.run(str(model), tmp_path / "run", rows, tasks, settings, stop=str(tok.eos_token), seed=1)
    for name in ("perplexity_word", "perplexity_byte", "bits_per_byte", "rouge_l", "bleu", "chrf", "rag_rouge_l"):
        assert name in out.metrics and math.isfinite(out.metrics[name]), name
    assert out.metrics["perplexity_byte"] > 1.0 and out.metrics["bits_per_byte"] > 0.0
    assert 0.0 <= out.metrics["rouge_l"] <= 1.0
    assert sorted(out.answers) == sorted(out.rag_answers) == [f"s{i}" for i in range(5)]
    assert (tmp_path / "run" / "results.json").is_file() and not (tmp_path / "run" / ".hf_cache").exists()
    assert out.notes == []
