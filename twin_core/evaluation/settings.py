"""Evaluation suites and the promotion gate."""

from __future__ import annotations

from pydantic import Field

from twin_core.config.base import Settings


class EvaluationSettings(Settings):
    """Which suites run and the margins a candidate must beat production by."""

    suites: list[str] = Field(default_factory=lambda: ["perplexity", "style"])
    gate_margins: dict[str, float] = Field(default_factory=dict)
    max_samples: int = Field(default=50, gt=0)
