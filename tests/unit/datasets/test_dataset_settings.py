"""The dataset group: defaults compose, the curated option instantiates, and cross-field rules name the keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from twin_core.config.errors import ConfigError
from twin_core.datasets.settings import DatasetSettings


def test_default_and_curated_options(make_settings: Callable[..., object]) -> None:
    s = make_settings().dataset  # type: ignore[attr-defined]
    assert isinstance(s, DatasetSettings) and s.generator == "backtranslation" and s.seed == 42
    assert s.uses_llm() and not s.judge.enabled and s.decontamination.ngram == 13
    curated = make_settings("dataset=curated").dataset  # type: ignore[attr-defined]
    assert (curated.generator, curated.judge.enabled, curated.augment.enabled) == ("llm", True, True)
    assert curated.extract.max_chars == 1200


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("dataset.filters.min_answer_chars=5000", "filters.min_answer_chars (5000) must be below max_answer_chars"),
        ("dataset.extract.min_chars=2000", "extract.min_chars (2000) must be below max_chars (1200)"),
        ("dataset.dedup.threshold=1.5", "dataset.dedup.threshold: 1.5"),
        ("dataset.generator=gpt", "dataset.generator: 'gpt'"),
    ],
)
def test_bad_values_name_their_key(make_settings: Callable[..., object], override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        make_settings(override)
    assert message in str(err.value)


def test_pipeline_dataset_is_registered(make_settings: Callable[..., object]) -> None:
    cfg = make_settings("pipeline=dataset")
    assert cfg.pipeline.steps == ["dataset"]  # type: ignore[attr-defined]
