"""RAG metrics with ragas: our judge client as a ragas LLM and our embedding model as ragas embeddings."""

from __future__ import annotations

import asyncio
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")  # ragas sends usage events unless told not to

from langchain_core.outputs import Generation, LLMResult
from ragas import EvaluationDataset, RunConfig, SingleTurnSample, evaluate
from ragas.embeddings.base import BaseRagasEmbeddings
from ragas.llms.base import BaseRagasLLM

from twin_core.evaluation.settings import RagEvalSettings
from twin_core.llm.client import LLMClient

#: ragas' result column -> our leaderboard column.
COLUMN = {
    "faithfulness": "faithfulness",
    "answer_relevancy": "answer_relevancy",
    "llm_context_precision_with_reference": "context_precision",
    "context_recall": "context_recall",
}


@dataclass(frozen=True)
class RagRecord:
    """One test question: retrieved chunks, the model's answer from them, and the author's answer."""

    id: str
    question: str
    contexts: list[str]
    answer: str
    reference: str


class ClientRagasLLM(BaseRagasLLM):
    """Our LLM client behind ragas' LLM interface: one user message per prompt, temperature 0 for single answers."""

    def __init__(self, client: LLMClient, max_tokens: int = 1024) -> None:
        super().__init__()
        self.client, self.max_tokens = client, max_tokens

    def generate_text(
        self,
        prompt: Any,
        n: int = 1,
        temperature: float | None = 0.01,
        stop: list[str] | None = None,
        callbacks: Any = None,
    ) -> LLMResult:
        messages = [{"role": "user", "content": prompt.to_string()}]
        heat = 0.0 if n == 1 else (temperature or 0.3)
        texts = [
            self.client.complete(messages, temperature=heat, max_tokens=self.max_tokens, stop=stop) for _ in range(n)
        ]
        return LLMResult(generations=[[Generation(text=t) for t in texts]])

    async def agenerate_text(
        self,
        prompt: Any,
        n: int = 1,
        temperature: float | None = 0.01,
        stop: list[str] | None = None,
        callbacks: Any = None,
    ) -> LLMResult:
        return await asyncio.to_thread(self.generate_text, prompt, n, temperature, stop, callbacks)

    def is_finished(self, response: LLMResult) -> bool:
        return True


class EmbedderRagas(BaseRagasEmbeddings):
    """Our sentence-transformers embedder behind ragas' embeddings interface."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray]) -> None:
        super().__init__()
        self._embed = embed

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0].tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts).tolist()

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)


def ragas_metrics(settings: RagEvalSettings) -> list[Any]:
    """ragas metric objects for the configured names."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics import Faithfulness, LLMContextPrecisionWithReference, LLMContextRecall, ResponseRelevancy

    build = {
        "faithfulness": Faithfulness,
        "answer_relevancy": lambda: ResponseRelevancy(strictness=settings.answer_relevancy_strictness),
        "context_precision": LLMContextPrecisionWithReference,
        "context_recall": LLMContextRecall,
    }
    return [build[name]() for name in settings.metrics]


def score(
    records: Sequence[RagRecord],
    client: LLMClient,
    embed: Callable[[Sequence[str]], np.ndarray],
    settings: RagEvalSettings,
    *,
    concurrency: int = 4,
    max_tokens: int = 1024,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Mean of each metric over the samples that got a score, ``rag_failures`` (unscored cells) and per-sample rows."""
    if not records:
        return {}, []
    dataset = EvaluationDataset(
        [
            SingleTurnSample(
                user_input=r.question,
                retrieved_contexts=r.contexts or [""],
                response=r.answer or "(no answer)",
                reference=r.reference,
            )
            for r in records
        ]
    )
    run = RunConfig(timeout=int(settings.timeout_s), max_retries=2, max_wait=10, max_workers=concurrency)
    result = evaluate(
        dataset,
        metrics=ragas_metrics(settings),
        llm=ClientRagasLLM(client, max_tokens),
        embeddings=EmbedderRagas(embed),
        run_config=run,
        show_progress=False,
        raise_exceptions=False,
    )
    rows: list[dict[str, Any]] = []
    failures = 0
    sums: dict[str, list[float]] = {}
    for record, scores in zip(records, result.scores, strict=True):
        row: dict[str, Any] = {"id": record.id}
        for column, value in scores.items():
            name = COLUMN.get(column, column)
            ok = isinstance(value, int | float) and not math.isnan(value)
            row[name] = float(value) if ok else None
            if ok:
                sums.setdefault(name, []).append(float(value))
            else:
                failures += 1
        rows.append(row)
    metrics = {name: sum(v) / len(v) for name, v in sums.items()}
    metrics["rag_failures"] = float(failures)
    metrics["rag_samples"] = float(len(records))
    return metrics, rows
