"""LLM stages: instructions for extracts, evolved instructions, and judge scores, each with failure records."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from twin_core.datasets.backtranslation import PLATFORM_NOUNS
from twin_core.datasets.extracts import Extract
from twin_core.domain.samples import InstructionSample
from twin_core.llm.client import LLMClient
from twin_core.llm.structured import Failure

Progress = Callable[[int], None] | None
ANSWER_PREVIEW_CHARS = 1500


class GeneratedInstructions(BaseModel):
    """The ``llm`` generator's answer: instructions whose best answer is the given passage."""

    instructions: list[str] = Field(min_length=1)


class EvolvedInstruction(BaseModel):
    """An instruction rewritten to be harder or more specific, still answered by the same passage."""

    instruction: str = Field(min_length=5)


class JudgeVerdict(BaseModel):
    """A quality score for one training sample, with the judge's reason."""

    score: int = Field(ge=1, le=5)
    reason: str = ""


def _where(extract: Extract) -> str:
    noun = PLATFORM_NOUNS.get(extract.platform, "code file" if extract.category == "code" else extract.category)
    title = f" titled '{extract.title}'" if extract.title else ""
    return f"a {noun}{title}" + (f" (`{extract.path}`)" if extract.path else "")


def instruction_messages(extract: Extract, n: int) -> list[dict[str, str]]:
    """Ask for ``n`` varied instructions that the passage answers well, as JSON."""
    return [
        {"role": "system", "content": "You write instructions for fine-tuning a model to write like one person."},
        {
            "role": "user",
            "content": (
                f"Below is a passage {extract.author} wrote, from {_where(extract)}.\n\n<passage>\n{extract.text}\n"
                f"</passage>\n\nWrite {n} different instructions a user could give for which this exact passage, "
                "unchanged, would be an excellent answer. Vary the form (request, question, task); never mention "
                'the passage itself. Return {"instructions": [...]}.'
            ),
        },
    ]


def llm_instructions(
    client: LLMClient, extracts: list[Extract], n: int, progress: Progress = None
) -> tuple[list[InstructionSample], list[Failure]]:
    """Up to ``n`` instruction/answer pairs per extract; the answer is the extract itself."""
    results, failures = client.map_structured(
        extracts, lambda e: instruction_messages(e, n), GeneratedInstructions, progress=progress
    )
    samples = []
    for extract, answer in results:
        unique = list(dict.fromkeys(i.strip() for i in answer.instructions if i and i.strip()))[:n]
        samples.extend(
            InstructionSample(
                instruction=text,
                answer=extract.text,
                document_id=extract.document_id,
                category=extract.category,
                platform=extract.platform,
                extract_id=extract.id,
                generator="llm",
            )
            for text in unique
        )
    return samples, failures


def pick(samples: list[InstructionSample], fraction: float, seed: int) -> list[InstructionSample]:
    """A seeded, stable share of the samples (by hash of id)."""
    cut = int(fraction * 2**32)
    return [s for s in samples if int(hashlib.sha256(f"{seed}:{s.id}".encode()).hexdigest()[:8], 16) < cut]


def evolve_messages(sample: InstructionSample) -> list[dict[str, str]]:
    """Ask for a harder or more specific version of an instruction that the same answer still fits."""
    return [
        {"role": "system", "content": "You rewrite instructions to make training data more varied and demanding."},
        {
            "role": "user",
            "content": (
                f"Instruction: {sample.instruction}\n\n"
                f"Answer (it will not change):\n{sample.answer[:ANSWER_PREVIEW_CHARS]}"
                "\n\nRewrite the instruction so it is more specific or demanding (add a constraint, an audience or a "
                'goal) while this exact answer still fits it well. Return {"instruction": "..."}.'
            ),
        },
    ]


def evolve(
    client: LLMClient, samples: list[InstructionSample], fraction: float, seed: int, progress: Progress = None
) -> tuple[list[InstructionSample], list[Failure]]:
    """Evolved copies of a seeded share of the samples (``source='evolved'``)."""
    results, failures = client.map_structured(
        pick(samples, fraction, seed), evolve_messages, EvolvedInstruction, progress=progress
    )
    evolved = [
        InstructionSample(**{**s.model_dump(), "id": "", "instruction": out.instruction.strip(), "source": "evolved"})
        for s, out in results
    ]
    return evolved, failures


def judge_messages(sample: InstructionSample) -> list[dict[str, str]]:
    """Ask for a 1-5 score of a sample as fine-tuning data, with a one-sentence reason."""
    return [
        {"role": "system", "content": "You are a strict judge of training data quality."},
        {
            "role": "user",
            "content": (
                f"Instruction:\n{sample.instruction}\n\nAnswer:\n{sample.answer[:ANSWER_PREVIEW_CHARS]}\n\n"
                "Score this pair from 1 (useless) to 5 (excellent) as data for teaching a model to write like the "
                "answer's author: does the answer fit the instruction, stand on its own, and read as real writing "
                'rather than page furniture? Return {"score": <1-5>, "reason": "<one sentence>"}.'
            ),
        },
    ]


def judge(
    client: LLMClient, samples: list[InstructionSample], max_tokens: int, progress: Progress = None
) -> tuple[list[InstructionSample], list[Failure]]:
    """Every sample with its score and reason; a sample the judge could not score keeps ``judge_score=None``."""
    results, failures = client.map_structured(
        samples, judge_messages, JudgeVerdict, progress=progress, max_tokens=max_tokens, temperature=0.0
    )
    verdicts: dict[str, Any] = {s.id: v for s, v in results}
    scored = [
        s.model_copy(update={"judge_score": verdicts[s.id].score, "judge_reason": verdicts[s.id].reason.strip()})
        if s.id in verdicts
        else s
        for s in samples
    ]
    return scored, failures
