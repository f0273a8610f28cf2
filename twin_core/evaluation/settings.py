"""Evaluation settings: which suites run on which models, the judge, and the promotion gate's rules."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin_core.config.base import Settings
from twin_core.llm.settings import LLMSettings

Suite = Literal["perplexity", "generation", "style", "judge", "rag"]
RagMetric = Literal["faithfulness", "answer_relevancy", "context_precision", "context_recall"]
_RELATIVE = re.compile(r"^-?\d+(\.\d+)?%$")


class LmEvalSettings(Settings):
    """How lm-eval-harness runs the generated tasks (and standard tasks) on a local model folder."""

    batch_size: int = Field(default=4, ge=1, le=256)
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "float32"
    max_new_tokens: int = Field(default=128, gt=0, description="Tokens generated per answer (greedy).")
    standard_tasks: list[str] = Field(
        default_factory=list,
        description="lm-eval task names (e.g. hellaswag) run beside ours; skipped when their data is not local.",
    )
    standard_limit: int | None = Field(default=100, gt=0, description="Documents per standard task (None: all).")
    num_fewshot: int | None = Field(default=None, ge=0)


class JudgeOptions(Settings):
    """LLM-as-judge options (the judge itself is ``evaluation.judge``)."""

    pairwise: bool = Field(default=True, description="Compare the candidate's answers with production's.")
    swap_positions: bool = Field(default=True, description="Ask twice with A/B swapped; a split verdict is a tie.")
    max_tokens: int = Field(default=400, gt=0)
    retries: int = Field(default=2, ge=0, le=10, description="Re-asks per sample after an unusable answer.")


class RagEvalSettings(Settings):
    """ragas metrics over answers the model writes from chunks retrieved for each test question."""

    metrics: list[RagMetric] = Field(
        default_factory=lambda: ["faithfulness", "answer_relevancy", "context_precision", "context_recall"]
    )
    top_k: int = Field(default=3, ge=1, le=50, description="Chunks retrieved per question.")
    answer_relevancy_strictness: int = Field(default=1, ge=1, le=5, description="Questions generated per answer.")
    timeout_s: float = Field(default=180.0, gt=0, description="Per ragas job.")


class GateSettings(Settings):
    """A candidate replaces production only when it beats it on every listed metric by its margin."""

    margins: dict[str, float | str] = Field(
        default_factory=dict,
        description="metric -> required improvement: absolute (0.05) or relative to production ('2%'); "
        "negative tolerates a regression. Direction comes from the metric (perplexity: lower is better).",
    )
    directions: dict[str, Literal["higher", "lower"]] = Field(
        default_factory=dict, description="Direction of metrics the leaderboard does not know."
    )
    require: Literal["all", "any"] = "all"
    promote_if_no_production: bool = True
    promote: bool = Field(default=True, description="False: decide and record, but never move the production tag.")

    @field_validator("margins")
    @classmethod
    def _margin_values(cls, value: dict[str, float | str]) -> dict[str, float | str]:
        for metric, margin in value.items():
            if isinstance(margin, str) and not _RELATIVE.match(margin.strip()):
                raise ValueError(f"margins.{metric}: {margin!r} is neither a number nor a percentage like '2%'")
        return value


class ModelSelection(Settings):
    """Which models become leaderboard rows; results are cached per model, so only new versions are run."""

    include_base: bool = True
    max_versions: int = Field(default=3, ge=1, description="Newest versions per registry name (production always).")
    candidate: str = Field(
        default="auto",
        description="auto: the newest registered SFT/DPO version unless it is production; or '<name>/<version>'.",
    )


class EvaluationSettings(Settings):
    """Which suites run, on how many held-out samples, with which judge, and the promotion gate."""

    suites: list[Suite] = Field(default_factory=lambda: ["perplexity", "generation", "style", "judge", "rag"])
    max_samples: int = Field(default=50, gt=0, description="Test samples evaluated (first by id).")
    dataset_version: str | None = Field(default=None, description="Instruction dataset version; None: latest.")
    lmeval: LmEvalSettings = LmEvalSettings()
    judge: LLMSettings | None = Field(default=None, description="The judge LLM; None skips judge and ragas suites.")
    judging: JudgeOptions = JudgeOptions()
    rag: RagEvalSettings = RagEvalSettings()
    gate: GateSettings = GateSettings()
    models: ModelSelection = ModelSelection()
    use_cache: bool = Field(default=True, description="Reuse a model's results for identical inputs.")

    @model_validator(mode="after")
    def _suites_unique(self) -> EvaluationSettings:
        if len(set(self.suites)) != len(self.suites):
            raise ValueError(f"suites: {self.suites} lists a suite twice")
        return self
