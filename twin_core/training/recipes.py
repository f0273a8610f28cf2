"""Render a typed recipe (``trainer`` group) into a complete Axolotl YAML config; pure, no I/O but the write."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from twin_core.training.settings import DpoRecipe, ModelSettings, TrainerSettings

PRECISION = {"bf16": (True, False), "fp16": (False, True), "fp32": (False, False)}


@dataclass(frozen=True)
class RunPaths:
    """Where one run reads and writes; everything the recipe alone cannot know."""

    base_model: str
    train_file: Path
    test_file: Path | None
    run_dir: Path
    run_name: str

    @property
    def output_dir(self) -> Path:
        return self.run_dir / "out"


def deepspeed_config(stage: str) -> Path:
    """The ZeRO json shipped in ``conf/trainer/deepspeed/`` (``zero2`` or ``zero3``)."""
    from twin_core.config.compose import conf_dir

    return conf_dir() / "trainer" / "deepspeed" / f"{stage}.json"


def wandb_mode(env: Mapping[str, str]) -> str:
    """``$WANDB_MODE`` if set; else online with ``$WANDB_API_KEY``, offline without."""
    return env.get("WANDB_MODE") or ("online" if env.get("WANDB_API_KEY") else "offline")


def _dataset(recipe: TrainerSettings, path: Path) -> dict[str, Any]:
    ds: dict[str, Any] = {"path": str(path), "ds_type": "json", "split": "train"}
    if isinstance(recipe, DpoRecipe):
        return ds | {"type": "chat_template.default", "field_messages": "messages"}
    roles = ["system", "user", "assistant"] if getattr(recipe, "train_on_inputs", False) else ["assistant"]
    return ds | {"type": "chat_template", "field_messages": "messages", "roles_to_train": roles, "train_on_eos": "turn"}


def _adapter(recipe: TrainerSettings) -> dict[str, Any]:
    if recipe.adapter == "full" or recipe.lora is None:
        return {"load_in_8bit": False, "load_in_4bit": False}
    lora = recipe.lora
    out: dict[str, Any] = {"adapter": recipe.adapter, "load_in_8bit": False, "load_in_4bit": recipe.adapter == "qlora"}
    out |= {"lora_r": lora.r, "lora_alpha": lora.alpha, "lora_dropout": lora.dropout}
    out |= {"lora_target_modules": list(lora.target_modules)} if lora.target_modules else {"lora_target_linear": True}
    if recipe.device == "cpu":  # Axolotl's fused LoRA kernels are Triton/CUDA only
        out |= {k: False for k in ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel")}
    return out


def _distributed(recipe: TrainerSettings) -> dict[str, Any]:
    if recipe.distributed.startswith("deepspeed_"):
        return {"deepspeed": str(deepspeed_config(recipe.distributed.removeprefix("deepspeed_")))}
    if recipe.distributed == "fsdp":
        fsdp = {
            "offload_params": False,
            "state_dict_type": "SHARDED_STATE_DICT",
            "final_state_dict_type": "FULL_STATE_DICT",
            "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "reshard_after_forward": True,
            "activation_checkpointing": recipe.gradient_checkpointing,
        }
        return {"fsdp_version": 2, "fsdp_config": fsdp}
    return {}


def _schedule(recipe: TrainerSettings, paths: RunPaths) -> dict[str, Any]:
    out: dict[str, Any] = {"save_strategy": "steps", "save_steps": recipe.save_steps}
    out |= {"save_total_limit": recipe.save_total_limit, "logging_steps": recipe.logging_steps}
    if recipe.eval and paths.test_file is not None:
        out["test_datasets"] = [_dataset(recipe, paths.test_file)]
        steps = {"eval_strategy": "steps", "eval_steps": recipe.eval_steps}
        out |= steps if recipe.eval_steps else {"eval_strategy": "epoch"}
    else:
        out |= {"val_set_size": 0.0, "eval_strategy": "no"}
    return out


def _tracking(recipe: TrainerSettings, paths: RunPaths, env: Mapping[str, str]) -> dict[str, Any]:
    if not recipe.wandb_project:
        return {}
    out = {"wandb_project": recipe.wandb_project, "wandb_name": paths.run_name, "wandb_run_id": paths.run_name}
    out |= {"wandb_entity": recipe.wandb_entity} if recipe.wandb_entity else {}
    return out | {"wandb_mode": wandb_mode(env)}


def render(
    recipe: TrainerSettings, model: ModelSettings, paths: RunPaths, *, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The complete Axolotl config for one run of ``recipe``; ``recipe.axolotl`` keys are applied last."""
    env = os.environ if env is None else env
    bf16, fp16 = PRECISION[recipe.precision]
    cfg: dict[str, Any] = {"base_model": paths.base_model, "chat_template": model.chat_template}
    if isinstance(recipe, DpoRecipe):
        cfg |= {"rl": "dpo", "rl_beta": recipe.beta}
    cfg |= {"datasets": [_dataset(recipe, paths.train_file)]}
    cfg |= {"dataset_prepared_path": str(paths.run_dir / "prepared"), "output_dir": str(paths.output_dir)}
    cfg |= {"sequence_len": recipe.sequence_len or model.max_seq_length}
    cfg |= {"excess_length_strategy": recipe.long_sequences, "sample_packing": recipe.sample_packing}
    cfg |= _adapter(recipe)
    cfg |= {"learning_rate": recipe.learning_rate, "lr_scheduler": recipe.lr_scheduler}
    cfg |= {"warmup_ratio": recipe.warmup_ratio, "num_epochs": recipe.epochs}
    cfg |= {
        "micro_batch_size": recipe.micro_batch_size,
        "gradient_accumulation_steps": recipe.gradient_accumulation_steps,
    }
    cfg |= {"optimizer": recipe.optimizer, "weight_decay": recipe.weight_decay, "max_grad_norm": recipe.max_grad_norm}
    cfg |= {"bf16": bf16, "fp16": fp16, "tf32": recipe.device == "cuda"}
    fsdp_checkpointing = recipe.distributed == "fsdp"  # FSDP checkpoints activations itself (fsdp_config)
    cfg |= {"gradient_checkpointing": recipe.gradient_checkpointing and not fsdp_checkpointing}
    cfg |= {"attn_implementation": recipe.attn_implementation}
    cfg |= _distributed(recipe)
    cfg |= _schedule(recipe, paths)
    cfg |= {"seed": recipe.seed, "auto_resume_from_checkpoints": True}
    if recipe.device == "cpu":  # no worker processes: they only cost start-up time on a small CPU
        cfg |= {"dataloader_num_workers": 0, "dataset_num_proc": 1}
    cfg |= _tracking(recipe, paths, env)
    return cfg | dict(recipe.axolotl)


def needs_preprocess(recipe: TrainerSettings) -> bool:
    """Tokenize once before training when several processes would each do it (DeepSpeed/FSDP)."""
    return recipe.distributed != "none"


def write_config(cfg: dict[str, Any], path: Path, *, header: str = "") -> Path:
    """Write a rendered config as YAML (atomically), with an optional comment header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    body = yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)
    tmp.write_text("".join(f"# {line}\n" for line in header.splitlines()) + body, encoding="utf-8")
    tmp.replace(path)
    return path
