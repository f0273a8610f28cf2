"""LLM-as-judge: accuracy and style on 1-3 scales with reasons, and pairwise preference against production."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, Field

from twin_core.evaluation.settings import JudgeOptions
from twin_core.llm.chat import Message
from twin_core.llm.client import LLMClient
from twin_core.llm.structured import Failure

MAX_CHARS = 3000
SYSTEM = (
    "You review answers written by a language model that imitates one particular author. "
    "You are strict and brief, and you reply with JSON only."
)
POINTWISE = """Grade the ANSWER to the INSTRUCTION on two criteria, each on a 1-3 scale, with a one- or two-sentence \
reason per score.

Accuracy: is what the answer says correct, and does it address what the instruction asks? The AUTHOR'S ANSWER is a \
trusted reference for the facts.
  1 = wrong, misleading or off topic; 2 = mostly right, with gaps or small errors; 3 = correct and complete.
Style: does the answer read as if the author wrote it? Compare voice, sentence rhythm, word choice and tone with the \
AUTHOR'S ANSWER, not its content.
  1 = generic, or clearly another voice; 2 = close in places; 3 = could pass for the author.

INSTRUCTION:
{instruction}

AUTHOR'S ANSWER (reference):
{reference}

ANSWER TO GRADE:
{answer}

Reply as {{"accuracy": {{"score": 1-3, "reason": "..."}}, "style": {{"score": 1-3, "reason": "..."}}}}."""
PAIRWISE = """Two answers, A and B, respond to the same INSTRUCTION. Decide which one does better what the \
instruction asks while sounding like the author; the AUTHOR'S ANSWER shows both the facts and the voice. Weigh \
content and voice together, ignore length unless it hurts the answer, and give no weight to which answer comes first. \
Say "tie" when neither is better.

INSTRUCTION:
{instruction}

AUTHOR'S ANSWER (reference):
{reference}

ANSWER A:
{first}

ANSWER B:
{second}

Reply as {{"reason": "...", "winner": "A" | "B" | "tie"}}."""


class Criterion(BaseModel):
    """One criterion's score (1-3) and the judge's reason."""

    score: int = Field(ge=1, le=3)
    reason: str = Field(min_length=1)


class JudgeVerdict(BaseModel):
    """The judge's grades of one answer."""

    accuracy: Criterion
    style: Criterion


class PairwiseVerdict(BaseModel):
    """Which of two answers the judge prefers, and why."""

    reason: str = Field(min_length=1)
    winner: Literal["A", "B", "tie"]


@dataclass(frozen=True)
class JudgeItem:
    """An answer to grade, with its instruction and the author's reference answer."""

    id: str
    instruction: str
    reference: str
    answer: str


@dataclass(frozen=True)
class PairItem:
    """The candidate's and production's answers to one instruction; ``order`` 'ab' puts the candidate first."""

    id: str
    instruction: str
    reference: str
    candidate: str
    production: str
    order: Literal["ab", "ba"] = "ab"


@dataclass
class JudgeReport:
    """Aggregate metrics, one record per judged sample, and the samples the judge could not grade."""

    metrics: dict[str, float]
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + " […]"


def pointwise_messages(item: JudgeItem) -> list[Message]:
    """The grading conversation for one answer."""
    body = POINTWISE.format(
        instruction=_cut(item.instruction), reference=_cut(item.reference), answer=_cut(item.answer)
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]


def pairwise_messages(item: PairItem) -> list[Message]:
    """The comparison conversation, answers in the item's order."""
    first, second = (item.candidate, item.production) if item.order == "ab" else (item.production, item.candidate)
    body = PAIRWISE.format(
        instruction=_cut(item.instruction), reference=_cut(item.reference), first=_cut(first), second=_cut(second)
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]


def _params(opts: JudgeOptions) -> dict[str, Any]:
    return {"retries": opts.retries, "temperature": 0.0, "max_tokens": opts.max_tokens}


def judge_answers(
    client: LLMClient, items: Sequence[JudgeItem], opts: JudgeOptions, progress: Callable[[int], None] | None = None
) -> JudgeReport:
    """Grade every answer; empty answers score 1/1 without a call, unusable judge answers become failures."""
    empty = [i for i in items if not i.answer.strip()]
    asked = [i for i in items if i.answer.strip()]
    results, failures = client.map_structured(
        asked, pointwise_messages, JudgeVerdict, progress=progress, **_params(opts)
    )
    verdicts = [
        {"id": i.id, "accuracy": 1, "style": 1, "accuracy_reason": "empty answer", "style_reason": "empty answer"}
        for i in empty
    ] + [
        {
            "id": i.id,
            "accuracy": v.accuracy.score,
            "style": v.style.score,
            "accuracy_reason": v.accuracy.reason,
            "style_reason": v.style.reason,
        }
        for i, v in results
    ]
    metrics = {"judge_failures": float(len(failures)), "judge_samples": float(len(verdicts))}
    if verdicts:
        metrics["judge_accuracy"] = sum(v["accuracy"] for v in verdicts) / len(verdicts)
        metrics["judge_style"] = sum(v["style"] for v in verdicts) / len(verdicts)
    return JudgeReport(metrics, sorted(verdicts, key=lambda v: v["id"]), failures)


def _vote(order: str, winner: str) -> str:
    if winner == "tie":
        return "tie"
    return "candidate" if (winner == "A") == (order == "ab") else "production"


def compare_answers(
    client: LLMClient, items: Sequence[PairItem], opts: JudgeOptions, progress: Callable[[int], None] | None = None
) -> JudgeReport:
    """Pairwise preference; with ``swap_positions`` each pair is judged both ways and a split verdict is a tie."""
    orders: tuple[Literal["ab", "ba"], ...] = ("ab", "ba") if opts.swap_positions else ("ab",)
    asked = [replace(i, order=o, id=f"{i.id}:{o}") for i in items for o in orders]
    results, failures = client.map_structured(
        asked, pairwise_messages, PairwiseVerdict, progress=progress, **_params(opts)
    )
    votes: dict[str, list[tuple[str, str]]] = {}
    for item, verdict in results:
        votes.setdefault(item.id.rsplit(":", 1)[0], []).append((_vote(item.order, verdict.winner), verdict.reason))
    records = []
    for key, cast in sorted(votes.items()):
        outcomes = {v for v, _ in cast}
        outcome = outcomes.pop() if len(outcomes) == 1 else "tie"
        records.append({"id": key, "outcome": outcome, "reasons": [r for _, r in cast]})
    n = len(records)
    wins = sum(r["outcome"] == "candidate" for r in records)
    ties = sum(r["outcome"] == "tie" for r in records)
    metrics = {
        "pairwise_samples": float(n),
        "pairwise_wins": float(wins),
        "pairwise_ties": float(ties),
        "pairwise_losses": float(n - wins - ties),
        "pairwise_failures": float(len(failures)),
    }
    if n:
        metrics["pairwise_win_rate"] = (wins + 0.5 * ties) / n
    return JudgeReport(metrics, records, failures)
