"""The base model step: the DEMO build from the warehouse (idempotent per corpus + settings), real models checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.domain.documents import CleanedDocument
from twin_core.training.base_model import BUILD_FILE, BaseModelMissing, resolve_base, run_base_model
from twin_core.training.settings import ModelSettings
from twin_core.warehouse import connect

TINY = [f"model.demo_build.{k}={v}" for k, v in {"vocab_size": 300, "hidden": 32, "heads": 2, "layers": 1}.items()]
TINY += ["model.demo_build.seq_len=16", "model.demo_build.steps=3", "model.demo_build.batch_size=2"]
TEXT = "Backfills are the part of a data pipeline nobody puts on the slide. They run at three in the morning. "


def _doc(i: int, text: str = TEXT) -> CleanedDocument:
    return CleanedDocument(
        id=f"d{i}",
        category="article",
        platform="blog",
        link=f"https://example.org/{i}",
        author_id="a",
        author_name="Jane",
        content=text * 4,
        raw_content_hash=f"h{i}",
    )


@pytest.fixture
def cfg(make_settings: Callable[..., Any]) -> Any:
    settings = make_settings(*TINY)
    settings.paths.ensure()
    with connect(settings.warehouse) as wh:
        wh.upsert_cleaned([_doc(i) for i in range(3)])
    return settings


def test_demo_model_is_built_then_skipped_then_rebuilt_on_new_text(cfg: Any) -> None:
    built = run_base_model(cfg)
    base = Path(cfg.model.base)
    assert built.details["skipped"] is False and built.counts["documents"] == 3
    build = json.loads((base / BUILD_FILE).read_text())
    assert build["settings"]["hidden"] == 32 and build["documents"] == 3
    assert (base / "model.safetensors").is_file() and "DEMO model" in (base / "README.md").read_text()
    assert run_base_model(cfg).details["skipped"] is True
    with connect(cfg.warehouse) as wh:
        wh.upsert_cleaned([_doc(1, "A new post about alerts that nobody reads at night. ")])
    rebuilt = run_base_model(cfg)
    assert rebuilt.details["skipped"] is False and rebuilt.details["corpus_hash"] != build["corpus_hash"]
    assert not [p.name for p in base.parent.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_changed_settings_rebuild(cfg: Any, make_settings: Callable[..., Any]) -> None:
    run_base_model(cfg)
    other = make_settings(*TINY, "model.demo_build.steps=4")
    assert run_base_model(other).details["skipped"] is False


def test_empty_warehouse_says_what_to_run(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(
        BaseModelMissing, match=r"no cleaned documents .* `twin pipeline=etl` then `twin pipeline=feature`"
    ):
        run_base_model(make_settings(*TINY))


def test_real_local_model_is_checked_not_built(tmp_path: Path, make_settings: Callable[..., Any]) -> None:
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "model.safetensors").write_bytes(b"w" * 10)
    result = run_base_model(make_settings("model=hub", f"model.base={model}"))
    assert result.details["skipped"] is True and result.artifacts["base_model"] == str(model)
    assert result.details["identity"].startswith("dir:")


def test_resolve_errors_are_specific(tmp_path: Path) -> None:
    with pytest.raises(BaseModelMissing, match=r"demo base model not built .* `twin step base_model`"):
        resolve_base(ModelSettings(base=str(tmp_path / "demo"), demo=True))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BaseModelMissing, match=r"has no config\.json"):
        resolve_base(ModelSettings(base=str(tmp_path / "empty")))
    with pytest.raises(BaseModelMissing, match="not a Hugging Face Hub id"):
        resolve_base(ModelSettings(base="not a model id"))


def test_hub_id_must_be_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(BaseModelMissing, match=r"not in the Hugging Face cache .*huggingface-cli download org/tiny"):
        resolve_base(ModelSettings(base="org/tiny"))
    repo = tmp_path / "hub" / "models--org--tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    ref = resolve_base(ModelSettings(base="org/tiny"))
    assert (ref.identity, ref.hub_id, Path(ref.path).name) == ("hub:org/tiny@abc123", "org/tiny", "abc123")
