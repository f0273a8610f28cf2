"""Rule filters on hand-made samples: length, format, language, boilerplate; preference pair rules; the funnel."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from twin_core.datasets.filters import Funnel, apply, dangling_fence, language_reason, preference_reason, sample_reason
from twin_core.datasets.settings import FilterSettings, PreferenceSettings
from twin_core.domain.samples import InstructionSample

ENGLISH = (
    "When I review a pipeline, I walk through it as if I have just been paged at three in the morning. "
    "The alert fires, and I want to know which job broke and what I should do about it."
)
S = FilterSettings(min_answer_chars=50, max_answer_chars=400, min_instruction_chars=10, max_instruction_chars=100)


@pytest.mark.parametrize(
    ("instruction", "answer", "category", "reason"),
    [
        ("Write about alerts.", ENGLISH, "article", None),
        ("Hi", ENGLISH, "article", "instruction_too_short"),
        ("Write " * 30, ENGLISH, "article", "instruction_too_long"),
        ("Write about alerts.", "Too short.", "article", "answer_too_short"),
        ("Write about alerts.", ENGLISH * 3, "article", "answer_too_long"),
        ("Write about alerts.", ENGLISH + "\n\n```python\nprint('never closed')", "article", "dangling_code_fence"),
        ("Write about alerts.", "#### ---- #### ---- #### ---- #### ---- #### ---- ####", "article", "no_content"),
        ("Write about alerts.", "Когда я смотрю на конвейер данных, я представляю, что меня разбудили ночью.", "post",
         "not_latin_script"),
        ("Write about alerts.", "Wenn ich eine Pipeline prüfe, gehe ich sie durch, als hätte man mich nachts geweckt, "
         "und frage mich, welcher Job kaputt ist und warum niemand etwas gesagt hat.", "article", "not_english"),
        ("Write about alerts.", ENGLISH + " Subscribe to my newsletter!", "post",
         "boilerplate:subscribe to my newsletter"),
        ("Write the function.", "def f(x):\n    return [y for y in x if y]\n\nclass Q:\n    pass\n" * 2, "code", None),
    ],
)  # fmt: skip
def test_sample_rules(instruction: str, answer: str, category: str, reason: str | None) -> None:
    sample = InstructionSample(instruction=instruction, answer=answer, document_id="d", category=category)
    assert sample_reason(sample, S) == reason


def test_language_check_ignores_code_and_can_be_switched_off() -> None:
    code_heavy = "Here:\n\n```python\n" + "x = compute(a, b)\n" * 20 + "```\n\nThat is all I have to say about it."
    assert language_reason(code_heavy, S) is None
    german = "Wenn ich eine Pipeline prüfe, gehe ich sie durch, als hätte man mich nachts geweckt und gefragt. " * 2
    assert language_reason(german, S) == "not_english"
    assert language_reason(german, S.model_copy(update={"language": "any"})) is None


def test_dangling_fence_counts_fence_lines() -> None:
    assert not dangling_fence("```\ncode\n```\n\ntext\n\n~~~\nmore\n~~~")
    assert dangling_fence("text\n```python\ncode")


@pytest.mark.parametrize(
    ("rejected", "reason"),
    [
        ("A generic answer that talks about pipelines in general terms, at length." * 2, None),
        ("   ", "rejected_empty"),
        ("Too short", "rejected_too_short"),
        ("```\nunclosed generic code block that goes on and on", "rejected_dangling_code_fence"),
        (ENGLISH.upper(), "rejected_same_as_chosen"),
        ("x" * 25, "length_ratio"),
    ],
)
def test_preference_rules(rejected: str, reason: str | None) -> None:
    settings = PreferenceSettings(min_rejected_chars=20, max_length_ratio=4.0)
    assert preference_reason(ENGLISH, rejected, settings) == reason


def test_apply_and_funnel_count_reasons_in_order(make_sample: Callable[..., InstructionSample]) -> None:
    samples = [make_sample(ENGLISH), make_sample("short"), make_sample("tiny"), make_sample(ENGLISH + " Fine.")]
    kept, dropped = apply(samples, lambda s: sample_reason(s, S))
    assert kept == [samples[0], samples[3]] and dropped == {"answer_too_short": 2}
    funnel = Funnel()
    funnel.add("rules", len(samples), len(kept), dropped)
    funnel.add("near_dedup", 2, 2)
    assert funnel.as_list() == [
        {"stage": "rules", "before": 4, "after": 2, "dropped": {"answer_too_short": 2}},
        {"stage": "near_dedup", "before": 2, "after": 2, "dropped": {}},
    ]
