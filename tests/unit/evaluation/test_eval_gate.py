"""The promotion gate: direction per metric, absolute and relative margins, and the no-production rule."""

from __future__ import annotations

import pytest

from twin_core.evaluation.gate import decide, required_improvement
from twin_core.evaluation.settings import GateSettings

PROD = {"bits_per_byte": 2.0, "judge_accuracy": 2.0, "style_distance": 0.40}


def _gate(**kw: object) -> GateSettings:
    return GateSettings(**kw)


def test_a_better_candidate_is_promoted_and_a_worse_one_refused() -> None:
    gate = _gate(margins={"bits_per_byte": 0.0, "judge_accuracy": 0.0})
    better = decide("twin-dpo/v2", {"bits_per_byte": 1.8, "judge_accuracy": 2.5}, "twin-dpo/v1", PROD, gate)
    assert better.promote and better.reason.startswith("promote: beats production on 2/2")
    assert [c.passed for c in better.checks] == [True, True]
    worse = decide("twin-dpo/v2", {"bits_per_byte": 2.3, "judge_accuracy": 2.5}, "twin-dpo/v1", PROD, gate)
    assert not worse.promote
    assert "bits_per_byte: 2.3 vs production 2 (lower is better)" in worse.reason
    assert [c.passed for c in worse.checks] == [False, True]


def test_direction_lower_is_better_for_perplexity_and_style_distance() -> None:
    gate = _gate(margins={"style_distance": 0.0})
    assert decide("c", {"style_distance": 0.30}, "p", PROD, gate).promote
    assert not decide("c", {"style_distance": 0.50}, "p", PROD, gate).promote
    higher = decide("c", {"judge_accuracy": 1.5}, "p", PROD, _gate(margins={"judge_accuracy": 0.0}))
    assert not higher.promote and higher.checks[0].improvement == pytest.approx(-0.5)


def test_margins_absolute_relative_and_negative() -> None:
    cand = {"bits_per_byte": 1.9}
    assert not decide("c", cand, "p", PROD, _gate(margins={"bits_per_byte": 0.2})).promote  # improved 0.1 < 0.2
    assert decide("c", cand, "p", PROD, _gate(margins={"bits_per_byte": 0.1})).promote
    assert decide("c", cand, "p", PROD, _gate(margins={"bits_per_byte": "5%"})).promote  # 5% of 2.0 = 0.1
    assert not decide("c", cand, "p", PROD, _gate(margins={"bits_per_byte": "6%"})).promote
    slightly_worse = {"bits_per_byte": 2.05}
    assert decide("c", slightly_worse, "p", PROD, _gate(margins={"bits_per_byte": -0.1})).promote  # tolerated
    assert required_improvement("-2.5%", 4.0) == pytest.approx(-0.1)


def test_require_any_needs_one_metric_only() -> None:
    cand = {"bits_per_byte": 1.5, "judge_accuracy": 1.0}
    margins = {"bits_per_byte": 0.0, "judge_accuracy": 0.0}
    assert not decide("c", cand, "p", PROD, _gate(margins=margins)).promote
    assert decide("c", cand, "p", PROD, _gate(margins=margins, require="any")).promote


def test_no_production_promotes_only_when_configured() -> None:
    assert decide("c", {}, None, {}, _gate()).promote
    refused = decide("c", {}, None, {}, _gate(promote_if_no_production=False))
    assert not refused.promote and "promote_if_no_production is false" in refused.reason


def test_nothing_to_decide_without_a_new_candidate() -> None:
    assert not decide(None, {}, "p", PROD, _gate()).promote
    same = decide("twin-dpo/v1", PROD, "twin-dpo/v1", PROD, _gate())
    assert not same.promote and same.reason == "twin-dpo/v1 is already production"


def test_unmeasured_metrics_are_not_compared_and_no_evidence_means_no_promotion() -> None:
    gate = _gate(margins={"bits_per_byte": 0.0, "faithfulness": 0.0})
    partial = decide("c", {"bits_per_byte": 1.0}, "p", PROD, gate)
    assert partial.promote and partial.checks[1].passed is None and "not measured" in partial.checks[1].note
    none = decide("c", {"faithfulness": float("nan")}, "p", PROD, _gate(margins={"faithfulness": 0.0}))
    assert not none.promote and none.reason == "refused: no gate metric was measured for both models"


def test_unknown_metric_needs_a_direction() -> None:
    cand, prod = {"hellaswag_acc": 0.5}, {"hellaswag_acc": 0.4}
    unknown = decide("c", cand, "p", prod, _gate(margins={"hellaswag_acc": 0.0}))
    assert not unknown.promote and "set evaluation.gate.directions.hellaswag_acc" in unknown.reason
    assert decide("c", cand, "p", prod, _gate(margins={"hellaswag_acc": 0.0}), {"hellaswag_acc": "higher"}).promote
    configured = _gate(margins={"hellaswag_acc": 0.0}, directions={"hellaswag_acc": "lower"})
    assert not decide("c", cand, "p", prod, configured, {"hellaswag_acc": "higher"}).promote


def test_margin_strings_must_be_percentages() -> None:
    with pytest.raises(ValueError, match=r"margins.bits_per_byte: 'a lot' is neither a number nor a percentage"):
        GateSettings(margins={"bits_per_byte": "a lot"})
