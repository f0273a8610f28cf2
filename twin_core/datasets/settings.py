"""Dataset generation settings: extracts, generators, filters, dedup, decontamination, split, curation, output."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from twin_core.config.base import Settings

DEFAULT_BOILERPLATE = [
    "subscribe to my newsletter",
    "all rights reserved",
    "click here",
    "accept cookies",
    "sign up for free",
    "share this post",
    "lorem ipsum",
    "as an ai language model",
    "thanks for reading! subscribe",
]


class ExtractSettings(Settings):
    """How cleaned documents are cut into extracts (the author's passages)."""

    max_chars: int = Field(default=1200, gt=0, description="Target size; code keeps a function whole beyond it.")
    min_chars: int = Field(default=200, ge=0, description="Smaller pieces are merged into their neighbour.")


class GeneratorSettings(Settings):
    """The ``llm`` generator: instructions asked of the configured LLM for each extract."""

    instructions_per_extract: int = Field(default=3, ge=1, le=10)


class FilterSettings(Settings):
    """Rule-based filters on instruction/answer pairs."""

    min_answer_chars: int = Field(default=80, ge=0)
    max_answer_chars: int = Field(default=4000, gt=0)
    min_instruction_chars: int = Field(default=10, ge=0)
    max_instruction_chars: int = Field(default=600, gt=0)
    language: Literal["en", "any"] = Field(
        default="en", description="'en': mostly-ASCII letters and an English stopword ratio (prose only)."
    )
    min_ascii_letter_ratio: float = Field(default=0.9, ge=0, le=1)
    min_stopword_ratio: float = Field(default=0.15, ge=0, le=1)
    boilerplate: list[str] = Field(default_factory=lambda: list(DEFAULT_BOILERPLATE))


class DedupSettings(Settings):
    """Exact duplicates always go; near duplicates by MinHash LSH over word shingles of the answer."""

    threshold: float = Field(default=0.8, gt=0, le=1, description="Estimated Jaccard similarity that marks a copy.")
    num_perm: int = Field(default=128, ge=16, le=1024)
    shingle_words: int = Field(default=5, ge=1, le=20)


class DecontaminationSettings(Settings):
    """Train samples sharing an n-gram with a test answer (or an evaluation file) are removed."""

    ngram: int = Field(default=13, ge=3, le=50, description="Words per n-gram (13 as in GPT-3's decontamination).")
    eval_files: list[Path] = Field(default_factory=list, description="JSON, JSONL or text files of eval items.")


class PreferenceSettings(Settings):
    """Chosen = the author's passage; rejected = the llm group's answer to the same instruction."""

    enabled: bool = True
    min_rejected_chars: int = Field(default=20, ge=1)
    max_length_ratio: float = Field(default=4.0, ge=1, description="Longer/shorter of chosen and rejected.")
    max_samples: int | None = Field(default=None, gt=0, description="Cap on pairs generated (None: all).")


class JudgeSettings(Settings):
    """Optional quality score (1-5) of every sample by the configured LLM; low scores are dropped."""

    enabled: bool = False
    threshold: int = Field(default=3, ge=1, le=5)
    max_tokens: int = Field(default=200, gt=0)


class AugmentSettings(Settings):
    """Optional evolution of instructions into harder or more varied ones (Evol-Instruct style) by the LLM."""

    enabled: bool = False
    fraction: float = Field(default=0.3, gt=0, le=1, description="Share of samples evolved (chosen by seed).")


class ExploreSettings(Settings):
    """What the card shows: a 2-D map of sample embeddings and the most frequent topics."""

    embedding: Literal["auto", "tfidf", "none"] = Field(
        default="auto", description="auto: the embedding group's model, falling back to TF-IDF."
    )
    top_topics: int = Field(default=15, ge=1, le=100)
    examples: int = Field(default=3, ge=0, le=20)


class DatasetSettings(Settings):
    """How instruction and preference datasets are generated, filtered, split and published."""

    generator: Literal["backtranslation", "llm"] = "backtranslation"
    seed: int = 42
    test_fraction: float = Field(default=0.1, gt=0, lt=1, description="Share of documents (not samples) held out.")
    system_prompt: str | None = Field(default=None, description="System message of every rendered conversation.")
    extract: ExtractSettings = ExtractSettings()
    llm_generator: GeneratorSettings = GeneratorSettings()
    filters: FilterSettings = FilterSettings()
    dedup: DedupSettings = DedupSettings()
    decontamination: DecontaminationSettings = DecontaminationSettings()
    preference: PreferenceSettings = PreferenceSettings()
    judge: JudgeSettings = JudgeSettings()
    augment: AugmentSettings = AugmentSettings()
    explore: ExploreSettings = ExploreSettings()
    push_to_hub: str | None = Field(default=None, description="Hub repo id; pushed only when $HF_TOKEN is set.")
    force: bool = Field(default=False, description="Rebuild even when this version exists already.")

    @model_validator(mode="after")
    def _ranges(self) -> DatasetSettings:
        f = self.filters
        if f.min_answer_chars >= f.max_answer_chars:
            raise ValueError(
                f"filters.min_answer_chars ({f.min_answer_chars}) must be below max_answer_chars ({f.max_answer_chars})"
            )
        if self.extract.min_chars >= self.extract.max_chars:
            raise ValueError(
                f"extract.min_chars ({self.extract.min_chars}) must be below max_chars ({self.extract.max_chars})"
            )
        return self

    def uses_llm(self) -> bool:
        """Whether any stage calls the llm group."""
        return self.generator == "llm" or self.preference.enabled or self.judge.enabled or self.augment.enabled
