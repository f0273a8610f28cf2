"""Rendering: every recipe of conf/trainer into its Axolotl config, field by field; variants; the YAML write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from twin_core.config.compose import conf_dir
from twin_core.training.recipes import RunPaths, needs_preprocess, render, wandb_mode, write_config

PATHS = RunPaths("/m/base", Path("/r/data/train.jsonl"), Path("/r/data/test.jsonl"), Path("/r"), "twin-sft-abc")
SFT_DS = {"ds_type": "json", "split": "train", "type": "chat_template", "field_messages": "messages"}
SFT_DS |= {"roles_to_train": ["assistant"], "train_on_eos": "turn"}
DPO_DS = {"ds_type": "json", "split": "train", "type": "chat_template.default", "field_messages": "messages"}
CPU_KERNELS = {k: False for k in ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel")}
COMMON = {
    "base_model": "/m/base",
    "dataset_prepared_path": "/r/prepared",
    "output_dir": "/r/out",
    "excess_length_strategy": "truncate",
    "load_in_8bit": False,
    "max_grad_norm": 1.0,
    "save_strategy": "steps",
    "seed": 42,
    "auto_resume_from_checkpoints": True,
    "wandb_project": "llm-twin",
    "wandb_name": "twin-sft-abc",
    "wandb_run_id": "twin-sft-abc",
    "wandb_mode": "offline",
}
CPU = {"chat_template": "chatml", "sequence_len": 512, "sample_packing": False, "load_in_4bit": False}
CPU |= {"bf16": False, "fp16": False, "tf32": False, "gradient_checkpointing": False, "attn_implementation": "sdpa"}
CPU |= {"optimizer": "adamw_torch", "weight_decay": 0.0, "lr_scheduler": "cosine", "warmup_ratio": 0.1}
CPU |= {"micro_batch_size": 4, "gradient_accumulation_steps": 1, "save_steps": 10, "save_total_limit": 2}
CPU |= {"logging_steps": 1, "eval_strategy": "epoch", "dataloader_num_workers": 0, "dataset_num_proc": 1}
CPU |= {
    "adapter": "lora",
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.0,
    "lora_target_linear": True,
    **CPU_KERNELS,
}
GPU = {"chat_template": "tokenizer_default", "sequence_len": 2048, "bf16": True, "fp16": False, "tf32": True}
GPU |= {"gradient_checkpointing": True, "attn_implementation": "flash_attention_2", "logging_steps": 5}
GPU |= {"eval_strategy": "steps", "eval_steps": 50, "lora_target_linear": True, "lora_dropout": 0.05}


def _ds(base: dict[str, Any], split: str) -> list[dict[str, Any]]:
    return [{"path": f"/r/data/{split}.jsonl", **base}]


SFT_DATA = {"datasets": _ds(SFT_DS, "train"), "test_datasets": _ds(SFT_DS, "test")}
DPO_DATA = {"datasets": _ds(DPO_DS, "train"), "test_datasets": _ds(DPO_DS, "test")}
EXPECTED: dict[str, dict[str, Any]] = {
    "cpu_tiny": COMMON | CPU | SFT_DATA | {"learning_rate": 3e-3, "num_epochs": 2.0},
    "cpu_tiny_dpo": COMMON | CPU | DPO_DATA | {"rl": "dpo", "rl_beta": 0.1, "learning_rate": 1e-3, "num_epochs": 0.5},
    "sft_lora": COMMON
    | GPU
    | SFT_DATA
    | {"sample_packing": True, "adapter": "lora", "load_in_4bit": False, "lora_r": 32, "lora_alpha": 64}
    | {"learning_rate": 2e-4, "lr_scheduler": "cosine", "warmup_ratio": 0.05, "num_epochs": 3.0}
    | {"micro_batch_size": 4, "gradient_accumulation_steps": 4, "optimizer": "adamw_torch_fused"}
    | {"weight_decay": 0.01, "save_steps": 50, "save_total_limit": 3},
    "sft_qlora": COMMON
    | GPU
    | SFT_DATA
    | {"sample_packing": True, "adapter": "qlora", "load_in_4bit": True, "lora_r": 64, "lora_alpha": 16}
    | {"learning_rate": 2e-4, "lr_scheduler": "cosine", "warmup_ratio": 0.05, "num_epochs": 3.0}
    | {"micro_batch_size": 2, "gradient_accumulation_steps": 8, "optimizer": "paged_adamw_8bit"}
    | {"weight_decay": 0.0, "save_steps": 50, "save_total_limit": 3},
    "sft_full": {k: v for k, v in (COMMON | GPU | SFT_DATA).items() if not k.startswith("lora_")}
    | {"sample_packing": True, "load_in_4bit": False, "deepspeed": str(conf_dir() / "trainer/deepspeed/zero3.json")}
    | {"learning_rate": 1e-5, "lr_scheduler": "cosine", "warmup_ratio": 0.03, "num_epochs": 3.0}
    | {"micro_batch_size": 2, "gradient_accumulation_steps": 8, "optimizer": "adamw_torch_fused"}
    | {"weight_decay": 0.01, "save_steps": 100, "save_total_limit": 2},
    "dpo": COMMON
    | GPU
    | DPO_DATA
    | {"rl": "dpo", "rl_beta": 0.1, "sample_packing": False, "adapter": "lora", "load_in_4bit": False}
    | {"lora_r": 32, "lora_alpha": 64, "learning_rate": 5e-6, "lr_scheduler": "linear", "warmup_ratio": 0.1}
    | {"num_epochs": 1.0, "micro_batch_size": 2, "gradient_accumulation_steps": 8, "optimizer": "adamw_torch_fused"}
    | {"weight_decay": 0.0, "save_steps": 50, "save_total_limit": 3},
}
# The multi-GPU recipes: the single-GPU ones with DeepSpeed ZeRO-2 (data parallel) or FSDP2 (full fine-tuning).
EXPECTED["sft_lora_zero2"] = EXPECTED["sft_lora"] | {"gradient_accumulation_steps": 2}
EXPECTED["sft_lora_zero2"] |= {"deepspeed": str(conf_dir() / "trainer/deepspeed/zero2.json")}
FSDP = {"offload_params": False, "state_dict_type": "SHARDED_STATE_DICT", "final_state_dict_type": "FULL_STATE_DICT"}
FSDP |= {"auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "reshard_after_forward": True, "activation_checkpointing": True}
EXPECTED["sft_full_fsdp"] = {k: v for k, v in EXPECTED["sft_full"].items() if k != "deepspeed"}
EXPECTED["sft_full_fsdp"] |= {"gradient_checkpointing": False, "fsdp_version": 2, "fsdp_config": FSDP}


def _rendered(make_settings: Callable[..., Any], *overrides: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    cfg = make_settings(*overrides)
    recipe = cfg.trainer.dpo if "dpo-stage" in overrides else cfg.trainer
    return render(recipe, cfg.model, PATHS, env={} if env is None else env)


@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_recipe_renders_field_by_field(recipe: str, make_settings: Callable[..., Any]) -> None:
    model = "model=demo_tiny" if recipe.startswith("cpu") else "model=hub"
    got = _rendered(make_settings, f"trainer={recipe}", model)
    expected = EXPECTED[recipe]
    for key, value in expected.items():
        assert got.get(key, "<missing>") == value, key
    assert sorted(set(got) - set(expected)) == []


def test_every_recipe_file_is_covered() -> None:
    assert sorted(p.stem for p in (conf_dir() / "trainer").glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize(("sft", "dpo"), [("cpu_tiny", "cpu_tiny_dpo"), ("sft_lora", "dpo"), ("sft_full", "dpo")])
def test_sft_recipes_carry_their_dpo_stage(sft: str, dpo: str, make_settings: Callable[..., Any]) -> None:
    model = "model=demo_tiny" if sft.startswith("cpu") else "model=hub"
    assert make_settings(f"trainer={sft}", model).trainer.dpo == make_settings(f"trainer={dpo}", model).trainer


def test_dpo_stage_renders_like_its_own_recipe(make_settings: Callable[..., Any]) -> None:
    nested = make_settings("trainer=cpu_tiny")
    own = make_settings("trainer=cpu_tiny_dpo")
    assert render(nested.trainer.dpo, nested.model, PATHS, env={}) == render(own.trainer, own.model, PATHS, env={})


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.distributed=deepspeed_zero2", {"deepspeed": str(conf_dir() / "trainer/deepspeed/zero2.json")}),
        ("trainer.distributed=deepspeed_zero3", {"deepspeed": str(conf_dir() / "trainer/deepspeed/zero3.json")}),
        ("trainer.precision=fp16", {"bf16": False, "fp16": True}),
        ("trainer.precision=fp32", {"bf16": False, "fp16": False}),
        ("trainer.lora.target_modules=[q_proj,v_proj]", {"lora_target_modules": ["q_proj", "v_proj"]}),
        (
            "trainer.train_on_inputs=true",
            {"datasets": _ds(SFT_DS | {"roles_to_train": ["system", "user", "assistant"]}, "train")},
        ),
        ("trainer.eval_steps=null", {"eval_strategy": "epoch"}),
        ("trainer.wandb_entity=team", {"wandb_entity": "team"}),
        ("+trainer.axolotl.special_tokens={pad_token: '<pad>'}", {"special_tokens": {"pad_token": "<pad>"}}),
        ("trainer.sequence_len=1024", {"sequence_len": 1024}),
    ],
)
def test_variants(override: str, expected: dict[str, Any], make_settings: Callable[..., Any]) -> None:
    got = _rendered(make_settings, "trainer=sft_lora", "model=hub", override)
    assert {k: got.get(k) for k in expected} == expected


def test_fsdp_replaces_gradient_checkpointing(make_settings: Callable[..., Any]) -> None:
    got = _rendered(make_settings, "trainer=sft_lora", "model=hub", "trainer.distributed=fsdp")
    assert got["fsdp_version"] == 2 and got["fsdp_config"]["activation_checkpointing"] is True
    assert got["fsdp_config"]["final_state_dict_type"] == "FULL_STATE_DICT"
    assert got["gradient_checkpointing"] is False and "deepspeed" not in got
    assert needs_preprocess(make_settings("trainer=sft_lora", "trainer.distributed=fsdp").trainer)
    assert not needs_preprocess(make_settings().trainer)


def test_no_eval_without_test_split_or_when_off(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings()
    no_test = RunPaths("/m/base", Path("/r/train.jsonl"), None, Path("/r"), "x")
    for recipe, paths in ((cfg.trainer, no_test), (cfg.trainer.model_copy(update={"eval": False}), PATHS)):
        got = render(recipe, cfg.model, paths, env={})
        assert (got["val_set_size"], got["eval_strategy"]) == (0.0, "no") and "test_datasets" not in got


def test_no_wandb_keys_when_tracking_is_off(make_settings: Callable[..., Any]) -> None:
    got = _rendered(make_settings, "trainer.wandb_project=null")
    assert not [k for k in got if k.startswith("wandb_")]


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, "offline"),
        ({"WANDB_API_KEY": "k"}, "online"),
        ({"WANDB_API_KEY": "k", "WANDB_MODE": "disabled"}, "disabled"),
    ],
)
def test_wandb_mode_is_offline_unless_a_key_is_set(env: dict[str, str], mode: str) -> None:
    assert wandb_mode(env) == mode


def test_write_config_round_trips_with_header(tmp_path: Path, make_settings: Callable[..., Any]) -> None:
    cfg = _rendered(make_settings)
    path = write_config(cfg, tmp_path / "run" / "axolotl.yaml", header="rendered from trainer=cpu_tiny")
    text = path.read_text()
    assert text.startswith("# rendered from trainer=cpu_tiny\n")
    assert yaml.safe_load(text) == cfg
    assert not list(tmp_path.glob("run/*.tmp"))
