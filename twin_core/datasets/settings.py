"""Dataset generation settings (instruction and preference datasets)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twin_core.config.base import Settings


class DatasetSettings(Settings):
    """How samples are generated, filtered and split."""

    generator: Literal["backtranslation", "llm"] = "backtranslation"
    extract_chars: int = Field(default=1200, gt=0)
    test_fraction: float = Field(default=0.1, gt=0, lt=1)
    seed: int = 42
    near_duplicate_threshold: float = Field(default=0.8, gt=0, le=1)
    min_answer_chars: int = Field(default=80, ge=0)
    max_answer_chars: int = Field(default=4000, gt=0)
