"""Span splitters: hand-checked cuts and overlap, then properties (sizes, coverage, no empty piece, token cap)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin_core.features.settings import EmbeddingSettings
from twin_core.features.splitters import (
    enforce_token_cap,
    merge_spans,
    recursive_chunks,
    split_spans,
    token_windows,
    trim_spans,
)
from twin_core.features.tokens import HFTokenCounter, load_token_counter

PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = st.sampled_from(
    ["the", "pipeline", "isn't", "boring", "—", "x²", "🍞", "def", "f(x):", "https://a.example/p?q=1"]
)
SEPS = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", "  "])
TEXT = st.lists(st.tuples(WORDS, SEPS), max_size=120).map(lambda ps: "".join(w + s for w, s in ps))


@pytest.fixture(scope="module")
def counter() -> HFTokenCounter:
    return load_token_counter(EmbeddingSettings(model_id="m", dimension=384))


def test_split_keeps_separators_at_piece_ends() -> None:
    text = "aaaa bbbb.\n\ncccc dddd"
    assert [text[a:b] for a, b in split_spans(text, (0, len(text)), 10)] == ["aaaa ", "bbbb.\n", "\n", "cccc dddd"]


def test_split_hard_cuts_when_no_separator_fits() -> None:
    text = "x" * 25
    assert split_spans(text, (0, 25), 10) == [(0, 10), (10, 20), (20, 25)]


def test_recursive_chunks_size_and_overlap_hand_checked() -> None:
    text = "one two three four five six seven eight"
    chunks = [text[a:b] for a, b in recursive_chunks(text, size=15, overlap=6)]
    assert chunks == ["one two three", "three four", "four five six", "six seven eight"]


def test_merge_without_overlap_is_a_partition() -> None:
    pieces = [(0, 3), (3, 7), (7, 9), (9, 15)]
    assert merge_spans(pieces, size=7, overlap=0) == [(0, 7), (7, 9), (9, 15)]


def test_trim_drops_blank_and_contained_spans() -> None:
    text = "  ab  \n\n   \n  cd"
    assert trim_spans(text, [(0, 6), (6, 12), (1, 5), (12, 16)]) == [(2, 4), (14, 16)]
    assert trim_spans("\n\n    def f():\n", [(0, 15)], keep_indent=True) == [(2, 14)]


@PROPS
@given(text=TEXT, size=st.integers(5, 120), overlap_frac=st.floats(0, 0.5))
def test_recursive_chunk_properties(text: str, size: int, overlap_frac: float) -> None:
    overlap = int(size * overlap_frac)
    spans = recursive_chunks(text, size, overlap)
    covered = set()
    for i, (a, b) in enumerate(spans):
        assert 0 < b - a <= size
        assert text[a:b].strip() == text[a:b]
        if i:
            pa, pb = spans[i - 1]
            assert pa < a and pb < b, "chunks move forward"
            assert pb - a <= overlap, "overlap never exceeds chunk_overlap"
        covered.update(range(a, b))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace()), "every character lands in a chunk"


def test_token_counts_match_the_model_tokenizer(counter: HFTokenCounter) -> None:
    from transformers import AutoTokenizer

    from twin_core.features.tokens import resolve_model_path

    hf = AutoTokenizer.from_pretrained(str(resolve_model_path(EmbeddingSettings(model_id="m", dimension=384))))
    texts = ["It’s a pipeline — boring 🍞 on purpose.", "def f(x):\n    return x²", "", "word " * 300]
    assert counter.count(texts) == [len(hf(t, truncation=False)["input_ids"]) for t in texts]
    assert counter.special == 2


def test_token_windows_hand_checked(counter: HFTokenCounter) -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"  # one token per word
    spans = token_windows(text, counter, max_tokens=6, overlap=1)  # 4 tokens per window
    assert [text[a:b] for a, b in spans] == [
        "alpha beta gamma delta",
        "delta epsilon zeta eta",
        "eta theta",
    ]


@PROPS
@given(text=TEXT, cap=st.integers(8, 40), overlap=st.integers(0, 3))
def test_token_windows_stay_under_the_cap(counter: HFTokenCounter, text: str, cap: int, overlap: int) -> None:
    spans = token_windows(text, counter, cap, overlap)
    pieces = [text[a:b] for a, b in spans]
    assert all(p.strip() for p in pieces)
    assert max(counter.count(pieces), default=0) <= cap
    if text.strip():
        assert spans[0][0] == len(text) - len(text.lstrip()) and spans[-1][1] == len(text.rstrip())


@PROPS
@given(text=TEXT, cap=st.integers(8, 30))
def test_enforce_token_cap_splits_until_every_piece_fits(counter: HFTokenCounter, text: str, cap: int) -> None:
    whole = trim_spans(text, [(0, len(text))])
    spans = enforce_token_cap(text, whole, counter, cap)
    pieces = [text[a:b] for a, b in spans]
    assert all(p.strip() for p in pieces)
    assert max(counter.count(pieces), default=0) <= cap
    assert "".join(pieces).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
