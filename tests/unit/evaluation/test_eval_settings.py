"""The evaluation config group: default, fast, judge choices, and errors with the key path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from twin_core.config.errors import ConfigError


def test_default_composes_every_suite_without_a_judge(make_settings: Callable[..., Any]) -> None:
    ev = make_settings().evaluation
    assert ev.suites == ["perplexity", "generation", "style", "judge", "rag"]
    assert ev.judge is None and ev.gate.promote_if_no_production
    assert ev.gate.margins == {"bits_per_byte": 0.0, "style_distance": 0.0, "judge_accuracy": 0.0}


def test_fast_and_judge_options(make_settings: Callable[..., Any]) -> None:
    ev = make_settings("evaluation=fast", "evaluation/judge=ollama", "evaluation.judge.model=qwen2.5").evaluation
    assert ev.max_samples == 5 and ev.lmeval.max_new_tokens == 48 and ev.rag.top_k == 2
    assert (ev.judge.provider, ev.judge.model, ev.judge.temperature) == ("openai", "qwen2.5", 0.0)
    assert make_settings("evaluation/judge=openai").evaluation.judge.api_key_env == "OPENAI_API_KEY"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("evaluation.suites=[perplexity,vibes]", "evaluation.suites[1]: 'vibes' is invalid"),
        ("evaluation.gate.margins.bits_per_byte=lots", "neither a number nor a percentage like '2%'"),
        ("evaluation.suites=[style,style]", "lists a suite twice"),
        ("evaluation.max_samples=0", "evaluation.max_samples: 0 is invalid"),
    ],
)
def test_bad_values_name_their_key(make_settings: Callable[..., Any], override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_settings(override)
