"""Model selection: base, newest versions per registry name, production across SFT/DPO names, and the candidate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.evaluation.models import current_production, select, twin_production
from twin_core.training.steps import open_registry


@pytest.fixture
def cfg(make_settings: Callable[..., Any], tmp_path: Path) -> Any:
    """Settings whose registry holds twin-sft v1, v2 and twin-dpo v1 (candidates), with a local base model folder."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    settings = make_settings(f"model.base={base}", "model.demo=false", "evaluation.models.max_versions=1")
    registry = open_registry(settings)
    for i, name in enumerate(("twin-sft", "twin-sft", "twin-dpo"), 1):
        _register(registry, tmp_path, name, f"f{i}", f"2024-01-01T00:00:0{i}+00:00")
    return settings


def _register(registry: Any, tmp_path: Path, name: str, fingerprint: str, created_at: str) -> None:
    folder = tmp_path / f"build-{fingerprint}"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    registry.register(name, model_dir=folder, manifest={"fingerprint": fingerprint, "created_at": created_at})


def _set_promotion_time(cfg: Any, name: str, at: str) -> None:
    path = open_registry(cfg).root / name / "stages.json"
    data = json.loads(path.read_text())
    for entry in data["history"]:
        if entry["stage"] == "production":
            entry["at"] = at
    path.write_text(json.dumps(data))


def test_rows_are_base_then_newest_versions_and_the_dpo_candidate(cfg: Any) -> None:
    sel = select(cfg)
    assert [m.label for m in sel.models] == ["base", "twin-sft/v2", "twin-dpo/v1"]
    assert sel.models[0].identity.startswith("dir:") and sel.models[1].identity == "twin-sft/v2:f2"
    assert sel.candidate is not None and sel.candidate.label == "twin-dpo/v1"
    assert sel.production is None and sel.notes == []


def test_production_stays_a_row_and_the_candidate_is_the_newest_version_unless_production(
    cfg: Any, tmp_path: Path
) -> None:
    registry = open_registry(cfg)
    registry.promote("twin-sft", "v1", "production")
    _set_promotion_time(cfg, "twin-sft", "2024-01-01T00:00:00+00:00")
    sel = select(cfg)
    assert [m.label for m in sel.models] == ["base", "twin-sft/v1", "twin-sft/v2", "twin-dpo/v1"]
    assert sel.production is not None and sel.production.label == "twin-sft/v1"
    assert sel.production.stages == ("production",)
    registry.promote("twin-dpo", "v1", "production")
    sel = select(cfg)
    assert sel.production.label == "twin-dpo/v1"  # promoted last
    assert sel.candidate is None  # the newest version is production already
    assert twin_production(cfg).version == "v1"
    _register(registry, tmp_path, "twin-sft", "f4", "2024-01-01T00:00:09+00:00")  # retrained SFT only
    assert select(cfg).candidate.label == "twin-sft/v3"


def test_current_production_prefers_the_latest_promotion(cfg: Any) -> None:
    registry = open_registry(cfg)
    registry.promote("twin-dpo", "v1", "production")
    registry.promote("twin-sft", "v2", "production")
    _set_promotion_time(cfg, "twin-dpo", "2024-01-01T00:00:00+00:00")
    _set_promotion_time(cfg, "twin-sft", "2024-02-01T00:00:00+00:00")
    assert current_production(registry, ["twin-sft", "twin-dpo"]).name == "twin-sft"
    assert current_production(registry, ["other"]) is None


def test_explicit_candidate_and_missing_base(make_settings: Callable[..., Any], cfg: Any) -> None:
    explicit = make_settings(
        f"model.base={cfg.model.base}", "model.demo=false", "evaluation.models.candidate=twin-sft/v1"
    )
    assert select(explicit).candidate.label == "twin-sft/v1"
    missing = make_settings("evaluation.models.candidate=twin-sft/v9")
    with pytest.raises(KeyError, match=r"evaluation.models.candidate: 'twin-sft/v9' is not in the registry"):
        select(missing)
    no_base = make_settings()  # the demo base model is not built in this data folder
    sel = select(no_base)
    assert (
        sel.models[0].label == "twin-sft/v1" and "base model not evaluated: demo base model not built" in sel.notes[0]
    )
