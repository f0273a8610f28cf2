"""The metric catalogue: every leaderboard column, its suite, its direction and what it measures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricInfo:
    """One column: which suite produces it, whether higher or lower is better, and a short description."""

    suite: str
    direction: Direction
    description: str


METRICS: dict[str, MetricInfo] = {
    "perplexity_word": MetricInfo("perplexity", "lower", "word perplexity on the author's held-out writing"),
    "perplexity_byte": MetricInfo("perplexity", "lower", "byte perplexity on the author's held-out writing"),
    "bits_per_byte": MetricInfo("perplexity", "lower", "bits per byte on the author's held-out writing"),
    "rouge_l": MetricInfo("generation", "higher", "ROUGE-L F1 of the answer vs the author's answer"),
    "bleu": MetricInfo("generation", "higher", "corpus BLEU (sacrebleu) vs the author's answers"),
    "chrf": MetricInfo("generation", "higher", "corpus chrF (sacrebleu) vs the author's answers"),
    "style_similarity": MetricInfo("style", "higher", "cosine of answer and author embedding centroids"),
    "style_distance": MetricInfo("style", "lower", "stylometric profile distance to the author (0-1)"),
    "judge_accuracy": MetricInfo("judge", "higher", "judge's accuracy score (1-3)"),
    "judge_style": MetricInfo("judge", "higher", "judge's closeness-to-the-author's-voice score (1-3)"),
    "pairwise_win_rate": MetricInfo("judge", "higher", "share of answers preferred to production's (ties: half)"),
    "faithfulness": MetricInfo("rag", "higher", "ragas faithfulness of RAG answers to retrieved chunks"),
    "answer_relevancy": MetricInfo("rag", "higher", "ragas answer relevancy"),
    "context_precision": MetricInfo("rag", "higher", "ragas context precision (with the author's answer)"),
    "context_recall": MetricInfo("rag", "higher", "ragas context recall (with the author's answer)"),
}
#: Columns shown on the leaderboard, in order (standard lm-eval tasks are appended after them).
COLUMNS: tuple[str, ...] = tuple(METRICS)


def direction(metric: str, extra: dict[str, Direction] | None = None) -> Direction | None:
    """Whether higher or lower is better for ``metric`` (``extra`` first: standard tasks and user overrides)."""
    if extra and metric in extra:
        return extra[metric]
    info = METRICS.get(metric)
    return info.direction if info else None
