"""Reciprocal rank fusion against numbers worked out by hand."""

from __future__ import annotations

import pytest

from twin_core.vectorstore.fusion import RRF_K, reciprocal_rank_fusion


def test_equal_weights_sum_reciprocal_ranks() -> None:
    # k=1: a = 1/2 + 1/3 = 5/6, c = 1/4 + 1/2 = 3/4, b = 1/3.
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=1)
    assert [item for item, _ in fused] == ["a", "c", "b"]
    assert [score for _, score in fused] == pytest.approx([5 / 6, 3 / 4, 1 / 3])


def test_weights_can_flip_the_order() -> None:
    # weights 0.2 / 0.8, k=1: a = 0.2/2 + 0.8/3 = 0.36667, c = 0.2/4 + 0.8/2 = 0.45, b = 0.2/3 = 0.06667.
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], weights=[0.2, 0.8], k=1)
    assert fused == [("c", pytest.approx(0.45)), ("a", pytest.approx(0.1 + 0.8 / 3)), ("b", pytest.approx(0.2 / 3))]


def test_default_constant_is_60() -> None:
    assert RRF_K == 60
    assert reciprocal_rank_fusion([["x", "y"]]) == [("x", pytest.approx(1 / 61)), ("y", pytest.approx(1 / 62))]


def test_ties_keep_first_seen_order_and_zero_weight_keeps_items() -> None:
    assert reciprocal_rank_fusion([["x"], ["y"]]) == [("x", pytest.approx(1 / 61)), ("y", pytest.approx(1 / 61))]
    assert reciprocal_rank_fusion([["x"], ["y"]], weights=[0.0, 1.0]) == [("y", pytest.approx(1 / 61)), ("x", 0.0)]


def test_weights_must_match_rankings() -> None:
    with pytest.raises(ValueError, match="2 rankings but 1 weights"):
        reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0])
