"""The stages of both datasets, wired in order, each counted in the funnel; no I/O besides the LLM."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from twin_core.datasets.backtranslation import backtranslate
from twin_core.datasets.decontam import decontaminate, load_eval_texts
from twin_core.datasets.dedup import exact_dedup, near_dedup
from twin_core.datasets.extracts import Extract, make_extracts
from twin_core.datasets.filters import Funnel, apply, sample_reason
from twin_core.datasets.generation import evolve, judge, llm_instructions
from twin_core.datasets.preference import build_preferences
from twin_core.datasets.settings import DatasetSettings
from twin_core.datasets.splits import held_out_documents, split_by_document
from twin_core.domain.documents import CleanedDocument
from twin_core.domain.samples import InstructionSample
from twin_core.llm.client import LLMClient
from twin_core.llm.structured import Failure

Bar = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


@dataclass
class Built:
    """One dataset kind: its splits, funnel and failure records (by stage)."""

    train: list
    test: list
    funnel: Funnel = field(default_factory=Funnel)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    test_documents: list[str] = field(default_factory=list)


def extracts_of(docs: Sequence[CleanedDocument], s: DatasetSettings) -> list[Extract]:
    """Every extract of every document, in document order."""
    return [e for d in docs for e in make_extracts(d, s.extract.max_chars, s.extract.min_chars)]


def generate(
    extracts: list[Extract], s: DatasetSettings, client: Callable[[], LLMClient], bar: Bar, funnel: Funnel
) -> tuple[list[InstructionSample], dict[str, list[Failure]]]:
    """Instruction candidates from the configured generator, plus evolved ones when augmentation is on."""
    failures: dict[str, list[Failure]] = {}
    if s.generator == "llm":
        with bar("instructions (llm)", len(extracts)) as advance:
            samples, failures["generation"] = llm_instructions(
                client(), extracts, s.llm_generator.instructions_per_extract, advance
            )
        funnel.add("generated", len(extracts), len(samples), {"llm_failure": len(failures["generation"])})
    else:
        samples = backtranslate(extracts, s.seed)
        funnel.add("generated", len(extracts), len(samples))
    if s.augment.enabled:
        with bar("evolving instructions", round(len(samples) * s.augment.fraction)) as advance:
            evolved, failures["augmentation"] = evolve(client(), samples, s.augment.fraction, s.seed, advance)
        funnel.add(
            "augmented", len(samples), len(samples) + len(evolved), {"llm_failure": len(failures["augmentation"])}
        )
        samples = samples + evolved
    return samples, failures


def curate(
    samples: list[InstructionSample], s: DatasetSettings, client: Callable[[], LLMClient], bar: Bar, built: Built
) -> list[InstructionSample]:
    """Rules, exact and near duplicates, then the optional judge."""
    kept, dropped = apply(samples, lambda x: sample_reason(x, s.filters))
    built.funnel.add("rules", len(samples), len(kept), dropped)
    before = len(kept)
    kept, n = exact_dedup(kept, key=lambda x: f"{x.instruction}\x1f{x.answer}")
    built.funnel.add("exact_dedup", before, len(kept), {"exact_duplicate": n} if n else {})
    before = len(kept)
    kept, n = near_dedup(
        kept,
        text=lambda x: x.answer,
        key=lambda x: x.id,
        group=lambda x: x.extract_id or x.id,
        threshold=s.dedup.threshold,
        num_perm=s.dedup.num_perm,
        shingle_words=s.dedup.shingle_words,
    )
    built.funnel.add("near_dedup", before, len(kept), {"near_duplicate": n} if n else {})
    if s.judge.enabled:
        with bar("judging samples", len(kept)) as advance:
            scored, built.failures["judge"] = judge(client(), kept, s.judge.max_tokens, advance)
        kept, low = apply(
            scored, lambda x: None if (x.judge_score or 5) >= s.judge.threshold else "judge_below_threshold"
        )
        built.funnel.add("judge", len(scored), len(kept), low)
    return kept


def build_instruction_set(
    docs: Sequence[CleanedDocument], s: DatasetSettings, client: Callable[[], LLMClient], bar: Bar
) -> tuple[Built, list[Extract]]:
    """The instruction dataset: extracts -> generated -> curated -> split by document -> decontaminated."""
    built = Built([], [])
    extracts = extracts_of(docs, s)
    built.funnel.add("extracts", len(docs), len(extracts))
    samples, built.failures = generate(extracts, s, client, bar, built.funnel)
    kept = curate(samples, s, client, bar, built)
    test_docs = held_out_documents(kept, s.test_fraction, s.seed)
    train, test = split_by_document(kept, test_docs)
    eval_texts = load_eval_texts(s.decontamination.eval_files)
    clean, dropped = decontaminate(train, test, n=s.decontamination.ngram, eval_texts=eval_texts)
    built.funnel.add("decontamination", len(train), len(clean), dropped)
    built.train, built.test, built.test_documents = clean, test, sorted(test_docs)
    return built, extracts


def build_preference_set(
    instructions: Built, s: DatasetSettings, client: LLMClient, model_name: str, bar: Bar
) -> Built:
    """The preference dataset from the kept instruction samples; its split follows the instruction split."""
    built = Built([], [], test_documents=instructions.test_documents)
    samples = [*instructions.train, *instructions.test]
    total = min(len({x.extract_id or x.id for x in samples}), s.preference.max_samples or len(samples))
    with bar("rejected answers", total) as advance:
        pairs, failures, dropped, n = build_preferences(
            client, samples, s.preference, seed=s.seed, system_prompt=s.system_prompt, model_name=model_name,
            progress=advance,
        )  # fmt: skip
    built.failures["rejected"] = failures
    built.funnel.add("candidates", len(samples), n)
    built.funnel.add("rejected_generated", n, n - len(failures), {"llm_failure": len(failures)} if failures else {})
    built.funnel.add("preference_rules", n - len(failures), len(pairs), dropped)
    built.train, built.test = split_by_document(pairs, set(instructions.test_documents))
    return built


def reasons(failures: dict[str, list[Failure]]) -> Counter[str]:
    """Failure counts by stage."""
    return Counter({stage: len(f) for stage, f in failures.items() if f})
