"""Model and trainer settings: one typed schema per recipe kind (SFT, DPO); Axolotl YAML is rendered from them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from twin_core.cloud.settings import SageMakerTrainingSettings
from twin_core.config.base import Settings

Precision = Literal["bf16", "fp16", "fp32"]
Distributed = Literal["none", "deepspeed_zero2", "deepspeed_zero3", "fsdp"]


class DemoBuildSettings(Settings):
    """Size and pretraining of the tiny demo base model (``model.demo: true``)."""

    vocab_size: int = Field(default=2048, ge=300)
    hidden: int = Field(default=128, gt=0)
    layers: int = Field(default=2, gt=0)
    heads: int = Field(default=4, gt=0)
    seq_len: int = Field(default=256, gt=8)
    steps: int = Field(default=200, gt=0)
    batch_size: int = Field(default=8, gt=0)
    lr: float = Field(default=3e-3, gt=0)
    seed: int = 0

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> DemoBuildSettings:
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})")
        return self


class ModelSettings(Settings):
    """The base model (hub id or local path; ``demo`` builds a tiny local one) and the registry name of the twin."""

    base: str = Field(min_length=1, description="Hub id or local folder; the demo model is built here.")
    demo: bool = False
    chat_template: str = Field(
        default="tokenizer_default", min_length=1, description="Axolotl chat_template; the tokenizer's own by default."
    )
    max_seq_length: int = Field(default=512, gt=0)
    name: str = Field(default="twin", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Registry name prefix.")
    hub_repo: str | None = Field(default=None, description="HF Hub repo id; versions are pushed when $HF_TOKEN is set.")
    demo_build: DemoBuildSettings = DemoBuildSettings()


class LoraSettings(Settings):
    """LoRA adapter shape; an empty ``target_modules`` targets every linear layer."""

    r: int = Field(default=16, gt=0)
    alpha: int = Field(default=32, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=list)


class TrainerSettings(Settings):
    """What every recipe shares; ``SftRecipe`` and ``DpoRecipe`` are the concrete schemas."""

    recipe: str = Field(min_length=1)
    method: Literal["sft", "dpo"]
    device: Literal["cpu", "cuda"] = "cuda"
    adapter: Literal["lora", "qlora", "full"] = "lora"
    lora: LoraSettings | None = None
    learning_rate: float = Field(default=2e-4, gt=0)
    lr_scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    epochs: float = Field(default=1, gt=0)
    micro_batch_size: int = Field(default=1, gt=0)
    gradient_accumulation_steps: int = Field(default=1, gt=0)
    sequence_len: int | None = Field(default=None, gt=0, description="None: model.max_seq_length.")
    long_sequences: Literal["drop", "truncate"] = "truncate"
    sample_packing: bool = False
    precision: Precision = "bf16"
    gradient_checkpointing: bool = False
    distributed: Distributed = "none"
    attn_implementation: str = "sdpa"
    optimizer: str = "adamw_torch"
    weight_decay: float = Field(default=0.0, ge=0)
    max_grad_norm: float = Field(default=1.0, gt=0)
    eval: bool = Field(default=True, description="Evaluate on the dataset's test split.")
    eval_steps: int | None = Field(default=None, gt=0, description="None: once per epoch.")
    save_steps: int = Field(default=50, gt=0)
    save_total_limit: int = Field(default=3, gt=0)
    logging_steps: int = Field(default=1, gt=0)
    seed: int = 42
    wandb_project: str | None = Field(default="llm-twin", description="None: no W&B tracking.")
    wandb_entity: str | None = None
    keep_checkpoints: bool = Field(default=False, description="Keep checkpoint-* after the version is registered.")
    axolotl: dict[str, Any] = Field(default_factory=dict, description="Raw Axolotl keys, applied last.")
    launcher: Literal["local", "sagemaker"] = Field(
        default="local", description="local: Axolotl subprocess here; sagemaker: a SageMaker training job."
    )
    sagemaker: SageMakerTrainingSettings = SageMakerTrainingSettings()

    @model_validator(mode="after")
    def _consistent(self) -> TrainerSettings:
        if self.launcher == "sagemaker":
            if self.device != "cuda":
                raise ValueError(f"launcher: 'sagemaker' trains on GPU instances; device is {self.device!r}")
            if missing := self.sagemaker.missing("trainer.sagemaker"):
                raise ValueError(
                    f"launcher: 'sagemaker' needs {', '.join(missing)} (experiment=production reads them from "
                    "$TWIN_SAGEMAKER_ROLE, $TWIN_SAGEMAKER_BUCKET, $TWIN_SAGEMAKER_TRAINING_IMAGE)"
                )
        if self.adapter in ("lora", "qlora") and self.lora is None:
            raise ValueError(f"lora: required when adapter is {self.adapter!r}")
        if self.adapter == "full" and self.lora is not None:
            raise ValueError("lora: must be null when adapter is 'full'")
        if self.device == "cpu":
            if self.adapter == "qlora":
                raise ValueError("adapter: 'qlora' needs device 'cuda' (4-bit bitsandbytes)")
            if self.precision != "fp32":
                raise ValueError(f"precision: {self.precision!r} on device 'cpu'; use 'fp32'")
            if self.distributed != "none":
                raise ValueError(f"distributed: {self.distributed!r} needs device 'cuda'")
        return self


class DpoRecipe(TrainerSettings):
    """A DPO recipe: preference pairs on top of the merged SFT model."""

    method: Literal["dpo"] = "dpo"
    beta: float = Field(default=0.1, gt=0, description="DPO temperature (rl_beta).")

    @model_validator(mode="after")
    def _no_packing(self) -> DpoRecipe:
        if self.sample_packing:
            raise ValueError("sample_packing: not supported for DPO")
        return self


class SftRecipe(TrainerSettings):
    """An SFT recipe; ``dpo`` is the recipe of the DPO stage that follows it."""

    method: Literal["sft"] = "sft"
    train_on_inputs: bool = Field(default=False, description="Also learn the user turns (not only the answers).")
    dpo: DpoRecipe | None = None
