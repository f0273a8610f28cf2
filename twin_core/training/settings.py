"""Model and trainer settings (Axolotl recipes are rendered from these)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twin_core.config.base import Settings


class ModelSettings(Settings):
    """The base model: a hub id or a local path; ``demo`` builds a tiny local one."""

    base: str = Field(min_length=1)
    demo: bool = False
    chat_template: str = Field(default="chatml", min_length=1)
    max_seq_length: int = Field(default=512, gt=0)


class TrainerSettings(Settings):
    """One training recipe (SFT or DPO) and how it runs."""

    recipe: str = Field(min_length=1)
    method: Literal["sft", "dpo"] = "sft"
    adapter: Literal["lora", "qlora", "full"] = "lora"
    learning_rate: float = Field(default=2e-4, gt=0)
    epochs: float = Field(default=1, gt=0)
    micro_batch_size: int = Field(default=1, gt=0)
    gradient_accumulation_steps: int = Field(default=1, gt=0)
    launcher: Literal["local", "sagemaker"] = "local"
