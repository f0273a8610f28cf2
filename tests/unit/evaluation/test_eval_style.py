"""Style fidelity: the stylometric profile, its distance and the centroid similarity, against hand-computed values."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from twin_core.evaluation.style import (
    centroid_similarity,
    mattr,
    profile,
    profile_distance,
    sentences,
    style_metrics,
    words,
)

A = "I ship small changes. Do you? Yes, always!"  # 42 chars, 3 sentences of 4, 2, 2 words, 8 distinct words
B = "It's fine - really. It's fine."  # 30 chars, 2 sentences of 3 and 2 words, 5 words of 3 types


def test_words_and_sentences_split_as_written() -> None:
    assert words(B) == ["it's", "fine", "really", "it's", "fine"]
    assert sentences(A) == ["I ship small changes.", "Do you?", "Yes, always!"]
    assert sentences("No end mark here") == ["No end mark here"]
    assert sentences("Version 2.5 is out. Yes") == ["Version 2.5 is out.", "Yes"]


def test_profile_matches_hand_computed_values() -> None:
    a, b = profile([A]), profile([B])
    assert a["sentence_words"] == pytest.approx(8 / 3)
    assert a["word_length"] == pytest.approx(31 / 8)
    assert a["vocabulary_richness"] == pytest.approx(1.0)
    assert a["commas_per_1k"] == pytest.approx(1000 / 42)
    assert a["question_marks_per_1k"] == pytest.approx(1000 / 42)
    assert a["exclamations_per_1k"] == pytest.approx(1000 / 42)
    assert a["dashes_per_1k"] == 0.0 and a["apostrophes_per_1k"] == 0.0
    assert b["sentence_words"] == pytest.approx(2.5)
    assert b["word_length"] == pytest.approx(22 / 5)
    assert b["vocabulary_richness"] == pytest.approx(3 / 5)
    assert b["dashes_per_1k"] == pytest.approx(1000 / 30)
    assert b["apostrophes_per_1k"] == pytest.approx(2000 / 30)


def test_profile_over_several_texts_pools_sentences_words_and_characters() -> None:
    both = profile([A, B])
    assert both["sentence_words"] == pytest.approx(13 / 5)
    assert both["commas_per_1k"] == pytest.approx(1000 / 72)


def test_profile_distance_is_the_mean_canberra_distance() -> None:
    # sentence words 1/31, word length 21/331, richness 1/4, five punctuation marks present in one text only (1 each),
    # semicolons, colons and parentheses absent from both (0): mean over 11 features.
    expected = (1 / 31 + 21 / 331 + 1 / 4 + 5) / 11
    assert profile_distance(profile([A]), profile([B])) == pytest.approx(expected)
    assert profile_distance(profile([A]), profile([A])) == 0.0
    assert profile_distance(profile([A]), profile([B])) == pytest.approx(profile_distance(profile([B]), profile([A])))


def test_mattr_is_plain_ttr_up_to_the_window_then_the_mean_over_windows() -> None:
    assert mattr(["a", "b", "a"], window=3) == pytest.approx(2 / 3)
    assert mattr(["a", "b", "a", "a"], window=2) == pytest.approx((1 + 1 + 0.5) / 3)
    assert mattr([]) == 0.0


def test_centroid_similarity_is_the_cosine_of_the_means() -> None:
    generated = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert centroid_similarity(generated, np.array([[1.0, 0.0]])) == pytest.approx(1 / np.sqrt(2))
    assert centroid_similarity(generated, np.array([[2.0, 2.0], [1.0, 1.0]])) == pytest.approx(1.0)
    assert centroid_similarity(np.zeros((0, 2)), np.array([[1.0, 0.0]])) == 0.0


def _letters(texts: Sequence[str]) -> np.ndarray:
    """A toy embedding: counts of the letters a, e, i in each text."""
    return np.array([[t.count("a"), t.count("e"), t.count("i")] for t in texts], dtype=float)


def test_style_metrics_skip_empty_answers_and_compare_with_the_references() -> None:
    out = style_metrics(["banana", "  "], ["aaa"], _letters)
    assert out["empty_answers"] == 1.0
    assert out["style_similarity"] == pytest.approx(1.0)  # (3,0,0) vs (3,0,0)
    assert out["style_distance"] == pytest.approx(profile_distance(profile(["banana"]), profile(["aaa"])))
    assert out["profile_word_length"] == pytest.approx(6.0)
    closer = style_metrics(["a e"], ["aaa"], _letters)["style_similarity"]
    assert closer == pytest.approx(1 / np.sqrt(2))
