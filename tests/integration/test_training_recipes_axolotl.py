"""Every recipe of ``conf/trainer/`` renders to a config that Axolotl's own validation accepts (one subprocess).

Needs the Axolotl venv (``$TWIN_AXOLOTL_PYTHON`` or ``.venv-axolotl/bin/python``); skipped with a message otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from twin_core.config.compose import conf_dir

ROOT = Path(__file__).resolve().parents[2]
AXO_PY = Path(os.environ.get("TWIN_AXOLOTL_PYTHON", ROOT / ".venv-axolotl/bin/python"))
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not AXO_PY.exists(), reason=f"Axolotl venv not found at {AXO_PY} (make setup creates it)"),
]
RECIPES = sorted(p.stem for p in (conf_dir() / "trainer").glob("*.yaml"))
VARIANTS = {
    "sft_lora+fsdp": ["trainer=sft_lora", "trainer.distributed=fsdp"],
    "sft_lora+zero2": ["trainer=sft_lora", "trainer.distributed=deepspeed_zero2"],
    "sft_qlora+zero3": ["trainer=sft_qlora", "trainer.distributed=deepspeed_zero3"],
    "cpu_tiny-no-eval": ["trainer=cpu_tiny", "trainer.eval=false", "trainer.lora.target_modules=[q_proj,v_proj]"],
    "typo": ["trainer=cpu_tiny", "+trainer.axolotl.lorra_r=8"],
}


def test_every_rendered_recipe_passes_axolotl_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hydra.core.global_hydra import GlobalHydra

    from twin_core.config.loader import load_settings
    from twin_core.training.recipes import RunPaths, render, write_config
    from twin_core.training.runner import validate_configs

    assert {"cpu_tiny", "cpu_tiny_dpo", "dpo", "sft_full", "sft_lora", "sft_qlora"} <= set(RECIPES)
    monkeypatch.setenv("TWIN_AXOLOTL_PYTHON", str(AXO_PY))
    cases = {name: [f"trainer={name}"] for name in RECIPES} | VARIANTS
    files: list[tuple[Path, bool]] = []
    for case, overrides in cases.items():
        model = "demo_tiny" if "cpu" in case else "hub"
        cfg = load_settings([f"paths.data_dir={tmp_path}", f"model={model}", *overrides])
        recipes = [cfg.trainer, *([cfg.trainer.dpo] if getattr(cfg.trainer, "dpo", None) else [])]
        for i, recipe in enumerate(recipes):
            run = tmp_path / f"{case}-{i}"
            paths = RunPaths("/models/base", run / "train.jsonl", run / "test.jsonl", run, f"{case}-{i}")
            files.append(
                (write_config(render(recipe, cfg.model, paths), run / "axolotl.yaml"), recipe.device == "cuda")
            )
    GlobalHydra.instance().clear()

    errors = validate_configs(files)

    typo = [p for p in errors if p.parent.name.startswith("typo-0")]
    assert len(typo) == 1 and errors.pop(typo[0]) == ["lorra_r: unknown Axolotl key"]
    assert {str(p): e for p, e in errors.items() if e} == {}
    assert len(errors) >= 2 * len(RECIPES)
