"""Change data capture plans, checked by hand; settings rules of the feature groups."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twin_core.features.cdc import FeatureState, Featurised, feature_signature, plan_changes
from twin_core.features.settings import ChunkingSettings, CleaningSettings, EmbeddingSettings

SIG = "sig-1"


def _state() -> FeatureState:
    return FeatureState(
        cleaned={
            "same": Featurised("h-same", SIG, 2),
            "edited": Featurised("h-old", SIG, 1),
            "reconfigured": Featurised("h-rc", "sig-0", 1),
            "half-written": Featurised("h-hw", SIG, 3),
            "gone": Featurised("h-gone", SIG, 1),
        },
        skipped={"short": Featurised("h-short", SIG, 0), "short-gone": Featurised("h-sg", SIG, 0)},
        stored={
            "same": {"c1", "c2"},
            "edited": {"c3"},
            "reconfigured": {"c4"},
            "half-written": {"c5"},
            "gone": {"c6"},
            "orphan": {"c7"},
        },
    )


def test_plan_sorts_every_document() -> None:
    raw = {
        "same": "h-same",
        "edited": "h-new",
        "reconfigured": "h-rc",
        "half-written": "h-hw",
        "short": "h-short",
        "fresh": "h-fresh",
    }
    plan = plan_changes(raw, _state(), SIG)
    assert plan.new == ["fresh"]
    assert plan.changed == ["edited"]
    assert plan.refreshed == ["half-written", "reconfigured"]
    assert plan.unchanged == ["same", "short"]
    assert plan.deleted == ["gone", "orphan", "short-gone"]
    assert plan.to_process == ["fresh", "edited", "half-written", "reconfigured"]


def test_a_settled_store_plans_nothing() -> None:
    state = FeatureState(cleaned={"a": Featurised("h", SIG, 1)}, stored={"a": {"c"}})
    plan = plan_changes({"a": "h"}, state, SIG)
    assert plan.to_process == [] and plan.deleted == [] and plan.unchanged == ["a"]


def test_a_skipped_document_that_regains_chunks_is_refreshed() -> None:
    state = FeatureState(skipped={"a": Featurised("h", SIG, 0)}, stored={"a": {"stale"}})
    assert plan_changes({"a": "h"}, state, SIG).refreshed == ["a"]


def test_signature_changes_with_chunking_and_model_only() -> None:
    base = feature_signature(CleaningSettings(), ChunkingSettings(), "m", 256)
    assert base == feature_signature(CleaningSettings(), ChunkingSettings(), "m", 256)
    assert base != feature_signature(CleaningSettings(), ChunkingSettings(chunk_size=800), "m", 256)
    assert base != feature_signature(CleaningSettings(min_chars=5), ChunkingSettings(), "m", 256)
    assert base != feature_signature(CleaningSettings(), ChunkingSettings(), "other", 256)
    assert base != feature_signature(CleaningSettings(), ChunkingSettings(), "m", 128)


def test_token_overlap_must_stay_below_half_the_window() -> None:
    with pytest.raises(ValidationError, match=r"token_overlap \(128\) must be below half of max_tokens \(256\)"):
        ChunkingSettings(token_overlap=128)


def test_int8_quantisation_needs_cpu_torch() -> None:
    with pytest.raises(ValidationError, match="quantize 'int8' needs device cpu and backend torch, got cuda/torch"):
        EmbeddingSettings(model_id="m", dimension=384, device="cuda", quantize="int8")
    with pytest.raises(ValidationError, match="dtype 'bfloat16' cannot be combined"):
        EmbeddingSettings(model_id="m", dimension=384, dtype="bfloat16", quantize="int8")


def test_dtype_auto_resolves_per_device(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from twin_core.features.embedding import resolve_dtype

    def settings(**kw: str) -> EmbeddingSettings:
        return EmbeddingSettings(model_id="m", dimension=384, **kw)

    assert resolve_dtype(settings(dtype="float32")) == "float32"
    assert resolve_dtype(settings(dtype="auto", device="cuda")) == "float16"
    assert resolve_dtype(settings(dtype="auto", device="mps")) == "float32"
    assert resolve_dtype(settings(dtype="auto", quantize="int8")) == "float32"
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert resolve_dtype(settings(dtype="auto")) == "float32"
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert resolve_dtype(settings(dtype="auto")) == ("bfloat16" if torch.backends.mkldnn.is_available() else "float32")
