"""Preference pairs: chosen = the author's passage, rejected = the llm group's generic answer to the instruction."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable

from twin_core.datasets.filters import apply, preference_reason
from twin_core.datasets.settings import PreferenceSettings
from twin_core.domain.samples import InstructionSample, PreferenceSample
from twin_core.llm.client import LLMClient
from twin_core.llm.structured import Failure


def prompt_messages(instruction: str, system_prompt: str | None) -> list[dict[str, str]]:
    """The conversation up to the answer, as training and serving send it."""
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": instruction}]


def candidates(samples: list[InstructionSample], max_samples: int | None, seed: int) -> list[InstructionSample]:
    """The instruction samples to pair (one per extract, author-written instructions first), capped by seed."""
    per_extract: dict[str, InstructionSample] = {}
    for s in sorted(samples, key=lambda s: (s.source != "author", s.id)):
        per_extract.setdefault(s.extract_id or s.id, s)
    chosen = sorted(per_extract.values(), key=lambda s: hashlib.sha256(f"{seed}:{s.id}".encode()).hexdigest())
    return sorted(chosen[:max_samples] if max_samples else chosen, key=lambda s: s.id)


def build_preferences(
    client: LLMClient,
    samples: list[InstructionSample],
    settings: PreferenceSettings,
    *,
    seed: int,
    system_prompt: str | None,
    model_name: str,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[PreferenceSample], list[Failure], Counter[str], int]:
    """Pairs that pass the preference filters, the generation failures, drop reasons, and the candidate count."""
    picked = candidates(samples, settings.max_samples, seed)
    answers, failures = client.map_text(
        picked,
        lambda s: prompt_messages(s.instruction, system_prompt),
        progress=progress,
        seed=int(hashlib.sha256(str(seed).encode()).hexdigest()[:8], 16),
    )
    usable, dropped = apply(answers, lambda pair: preference_reason(pair[0].answer, pair[1], settings))
    pairs = [
        PreferenceSample(
            instruction=s.instruction,
            chosen=s.answer,
            rejected=rejected.strip(),
            document_id=s.document_id,
            category=s.category,
            source=s.source,
            platform=s.platform,
            extract_id=s.extract_id,
            generator=s.generator,
            rejected_model=model_name,
        )
        for s, rejected in usable
    ]
    return pairs, failures, dropped, len(picked)
