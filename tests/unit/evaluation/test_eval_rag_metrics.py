"""ragas metrics end to end with a scripted judge at the LLM boundary and a toy embedding (no network, no model)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from twin_core.evaluation.rag_metrics import RagRecord, score
from twin_core.evaluation.settings import RagEvalSettings

RECORDS = [
    RagRecord(
        id=f"s{i}",
        question="How do backfills run?",
        contexts=["Backfills run per day, one partition at a time."],
        answer="Backfills run per day. Backfills are cheap.",
        reference="Backfills run per day. Keep them idempotent.",
    )
    for i in range(2)
]


def _embed(texts: Sequence[str]) -> np.ndarray:
    """A toy embedding: letter counts, so equal questions get cosine 1."""
    return np.array([[t.lower().count(c) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts], dtype=float) + 1e-3


def test_ragas_metrics_run_end_to_end_with_the_scripted_judge(scripted_judge: Callable, ragas_answer: Callable) -> None:
    judge = scripted_judge(lambda m, n: ragas_answer(m[-1]["content"]) or "not a ragas prompt", concurrency=2)
    metrics, rows = score(RECORDS, judge, _embed, RagEvalSettings(), concurrency=2)
    assert metrics["faithfulness"] == pytest.approx(0.5)  # 1 of 2 statements supported by the context
    assert metrics["answer_relevancy"] == pytest.approx(1.0)  # the judge's question equals the user's
    assert metrics["context_precision"] == pytest.approx(1.0, abs=1e-6)  # the one passage was useful
    assert metrics["context_recall"] == pytest.approx(0.5)  # 1 of 2 reference statements attributed
    assert metrics["rag_failures"] == 0.0 and metrics["rag_samples"] == 2.0
    assert [r["id"] for r in rows] == ["s0", "s1"] and rows[0]["faithfulness"] == pytest.approx(0.5)
    assert all(params.temperature == 0.0 for _, params in judge.calls)
    titles = " ".join(m[-1]["content"] for m, _ in judge.calls)
    assert all(f'"title": "{t}"' in titles for t in ("StatementGeneratorOutput", "ContextRecallClassifications"))


def test_unparseable_judge_answers_become_counted_failures(scripted_judge: Callable, ragas_answer: Callable) -> None:
    def script(messages: list[dict[str, str]], n: int) -> str:
        prompt = messages[-1]["content"]
        if '"title": "Verification"' in prompt or "output_string" in prompt:
            return "I'd rather not say."
        return ragas_answer(prompt) or json.dumps({"text": "?"})

    only = RagEvalSettings(metrics=["context_precision", "context_recall"])
    metrics, rows = score(RECORDS, scripted_judge(script), _embed, only)
    assert "context_precision" not in metrics and metrics["context_recall"] == pytest.approx(0.5)
    assert metrics["rag_failures"] == 2.0
    assert all(r["context_precision"] is None for r in rows)
    assert not any(math.isnan(v) for v in metrics.values())
