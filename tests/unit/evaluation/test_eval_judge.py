"""LLM-as-judge with a scripted judge at the LLM boundary: retries of malformed answers, failure records, pairwise."""

from __future__ import annotations

import json
from collections.abc import Callable

from twin_core.evaluation.judge import JudgeItem, PairItem, compare_answers, judge_answers
from twin_core.evaluation.settings import JudgeOptions

GOOD = {"accuracy": {"score": 3, "reason": "Matches the reference."}, "style": {"score": 2, "reason": "Close."}}
ITEMS = [
    JudgeItem("s1", "Write about backfills.", "Run backfills per day.", "Backfills run per day, keep them small."),
    JudgeItem("s2", "Write about alerts.", "Alert on symptoms.", "Alerts are good."),
]


def _first_user(messages: list[dict[str, str]]) -> str:
    return next(m for m in messages if m["role"] == "user")["content"]


def test_malformed_answers_are_retried_then_recorded(scripted_judge: Callable) -> None:
    def script(messages: list[dict[str, str]], n: int) -> str:
        prompt = _first_user(messages)
        if "Write about backfills." in prompt:  # first answer unusable, the retry is valid
            return "Sure! Scores: accuracy three." if len(messages) == 2 else json.dumps(GOOD)
        return '{"accuracy": {"score": 5, "reason": "great"}}'  # always invalid: score out of 1-3, no style

    judge = scripted_judge(script)
    report = judge_answers(judge, ITEMS, JudgeOptions(retries=2))
    assert [v["id"] for v in report.verdicts] == ["s1"]
    assert report.verdicts[0] == {
        "id": "s1", "accuracy": 3, "style": 2, "accuracy_reason": "Matches the reference.", "style_reason": "Close.",
    }  # fmt: skip
    (failure,) = report.failures
    assert failure.item_id == "s2" and failure.attempts == 3
    assert "JudgeVerdict" in failure.error and "accuracy.score" in failure.error
    assert '"score": 5' in failure.raw_excerpt
    s2_calls = [m for m, _ in judge.calls if "Write about alerts." in _first_user(m)]
    assert len(s2_calls) == 3  # first try + 2 retries
    assert "could not be used" in s2_calls[-1][-1]["content"]  # the retry shows the error to the judge
    assert report.metrics == {"judge_failures": 1.0, "judge_samples": 1.0, "judge_accuracy": 3.0, "judge_style": 2.0}


def test_judge_runs_at_temperature_zero_with_reasons_in_the_prompt(scripted_judge: Callable) -> None:
    judge = scripted_judge(lambda m, n: json.dumps(GOOD), temperature=0.9)
    judge_answers(judge, ITEMS[:1], JudgeOptions(max_tokens=123))
    ((messages, params),) = judge.calls
    assert params.temperature == 0.0 and params.max_tokens == 123
    prompt = messages[1]["content"]
    assert "1-3 scale" in prompt and "Run backfills per day." in prompt and "keep them small" in prompt
    assert "JSON schema" in prompt  # complete_json appended the schema


def test_empty_answers_score_lowest_without_a_call(scripted_judge: Callable) -> None:
    judge = scripted_judge(lambda m, n: json.dumps(GOOD))
    report = judge_answers(judge, [JudgeItem("e", "Write.", "Ref.", "   "), ITEMS[0]], JudgeOptions())
    assert len(judge.calls) == 1
    assert report.metrics["judge_accuracy"] == 2.0 and report.metrics["judge_style"] == 1.5


PAIRS = [
    PairItem(f"p{i}", "Write about tests.", "Test the boring parts.", "CAND answer", "PROD answer") for i in range(4)
]


def _prefer(text: str) -> Callable[[list[dict[str, str]], int], str]:
    def script(messages: list[dict[str, str]], n: int) -> str:
        prompt = _first_user(messages)
        a = prompt.split("ANSWER A:")[1].split("ANSWER B:")[0]
        return json.dumps({"reason": f"prefers {text}", "winner": "A" if text in a else "B"})

    return script


def test_pairwise_with_swapped_positions(scripted_judge: Callable) -> None:
    judge = scripted_judge(_prefer("CAND"))
    report = compare_answers(judge, PAIRS, JudgeOptions(swap_positions=True))
    assert len(judge.calls) == 8
    assert report.metrics["pairwise_win_rate"] == 1.0 and report.metrics["pairwise_wins"] == 4.0
    losing = compare_answers(scripted_judge(_prefer("PROD")), PAIRS, JudgeOptions())
    assert losing.metrics["pairwise_win_rate"] == 0.0 and losing.metrics["pairwise_losses"] == 4.0


def test_a_judge_that_always_picks_the_first_answer_gets_ties(scripted_judge: Callable) -> None:
    judge = scripted_judge(lambda m, n: json.dumps({"reason": "first is best", "winner": "A"}))
    report = compare_answers(judge, PAIRS, JudgeOptions(swap_positions=True))
    assert report.metrics["pairwise_ties"] == 4.0 and report.metrics["pairwise_win_rate"] == 0.5
    first = scripted_judge(lambda m, n: '{"reason": "x", "winner": "A"}')
    unswapped = compare_answers(first, PAIRS, JudgeOptions(swap_positions=False))
    assert unswapped.metrics["pairwise_win_rate"] == 1.0


def test_pairwise_failures_are_recorded_and_the_other_order_still_counts(scripted_judge: Callable) -> None:
    def script(messages: list[dict[str, str]], n: int) -> str:
        a = _first_user(messages).split("ANSWER A:")[1].split("ANSWER B:")[0]
        return "no idea" if "PROD" in a else json.dumps({"reason": "A is closer", "winner": "A"})

    report = compare_answers(scripted_judge(script), PAIRS[:1], JudgeOptions(retries=1))
    assert [f.item_id for f in report.failures] == ["p0:ba"] and report.failures[0].attempts == 2
    assert report.verdicts == [{"id": "p0", "outcome": "candidate", "reasons": ["A is closer"]}]
