"""Recipe schemas: one cross-field rule per test, and `twin validate` naming the key and where it came from."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twin_core.config.errors import ConfigError
from twin_core.config.loader import validate_config
from twin_core.training.settings import DemoBuildSettings, DpoRecipe, LoraSettings, SftRecipe

CPU = {"recipe": "t", "device": "cpu", "precision": "fp32", "lora": LoraSettings()}


def test_lora_adapter_needs_lora_settings() -> None:
    with pytest.raises(ValidationError, match="lora: required when adapter is 'lora'"):
        SftRecipe(recipe="t", adapter="lora")


def test_full_finetune_rejects_lora_settings() -> None:
    with pytest.raises(ValidationError, match="lora: must be null when adapter is 'full'"):
        SftRecipe(recipe="t", adapter="full", lora=LoraSettings())


def test_qlora_needs_cuda() -> None:
    with pytest.raises(ValidationError, match="adapter: 'qlora' needs device 'cuda'"):
        SftRecipe(**CPU | {"adapter": "qlora"})


def test_cpu_needs_fp32() -> None:
    with pytest.raises(ValidationError, match="precision: 'bf16' on device 'cpu'; use 'fp32'"):
        SftRecipe(**CPU | {"precision": "bf16"})


def test_cpu_cannot_shard() -> None:
    with pytest.raises(ValidationError, match="distributed: 'fsdp' needs device 'cuda'"):
        SftRecipe(**CPU | {"distributed": "fsdp"})


def test_dpo_rejects_packing() -> None:
    with pytest.raises(ValidationError, match="sample_packing: not supported for DPO"):
        DpoRecipe(recipe="t", lora=LoraSettings(), sample_packing=True)


def test_demo_heads_divide_hidden() -> None:
    with pytest.raises(ValidationError, match=r"hidden \(100\) must be a multiple of heads \(3\)"):
        DemoBuildSettings(hidden=100, heads=3)


def test_method_is_fixed_by_the_schema() -> None:
    with pytest.raises(ValidationError, match="method"):
        SftRecipe(**CPU | {"method": "dpo"})
    assert DpoRecipe(recipe="t", lora=LoraSettings()).method == "dpo"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.lora.r=0", "trainer.lora.r: 0 is invalid"),
        ("trainer.dpo.beta=-1", "trainer.dpo.beta: -1 is invalid"),
        ("trainer.dpo.precision=bf16", "trainer.dpo: precision: 'bf16' on device 'cpu'"),
        ("trainer.adapter=qlora", "trainer: adapter: 'qlora' needs device 'cuda'"),
        ("trainer.distributed=zero9", "trainer.distributed: 'zero9' is invalid"),
        ("+trainer.lora_rank=8", "trainer.lora_rank"),
        ("model.name=bad/name", "model.name: 'bad/name' is invalid"),
    ],
)
def test_twin_validate_names_the_key(override: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config([override])
    assert expected in str(err.value)
    assert f"command-line override {override!r}" in str(err.value)
