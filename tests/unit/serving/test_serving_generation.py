"""Generation engine: stop strings, stream hold-back, request grouping, and equality with plain transformers."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_core.serving.generation import (
    GenerationRequest,
    TextGenerator,
    group_requests,
    holdback,
    truncate_at_stop,
)
from twin_core.serving.tiny import greedy_reference

PROMPT = "the quick brown fox"


def test_truncate_at_stop_cuts_at_the_earliest_stop() -> None:
    assert truncate_at_stop("one two three two", ["three", "two"]) == "one "
    assert truncate_at_stop("one two", ["nine", ""]) == "one two"
    assert truncate_at_stop("abc", []) == "abc"


def test_holdback_keeps_only_a_possible_stop_prefix() -> None:
    assert holdback("hello wor", ["world"]) == 3  # "wor" may become "world"
    assert holdback("hello w", ["world", "why"]) == 1
    assert holdback("hello", ["world"]) == 0
    assert holdback("ab", ["abc", "b"]) == 2  # the longest candidate wins


def test_group_requests_by_sampling_options_in_arrival_order() -> None:
    reqs = [
        GenerationRequest("a", 8),
        GenerationRequest("b", 8, temperature=0.7),
        GenerationRequest("c", 8),
        GenerationRequest("d", 4),
    ]
    assert list(group_requests(reqs).values()) == [[0, 2], [1], [3]]


@pytest.fixture(scope="module")
def generator(tiny_llama: Path) -> TextGenerator:
    return TextGenerator.from_pretrained(tiny_llama, threads=1)


def test_greedy_matches_plain_transformers(generator: TextGenerator, tiny_llama: Path) -> None:
    assert generator.generate([GenerationRequest(PROMPT, 10)]) == [greedy_reference(tiny_llama, PROMPT, 10)]


def test_padded_batch_equals_one_by_one(generator: TextGenerator) -> None:
    prompts = ["the", "the quick brown fox jumps", "twin writes", "a lazy dog"]
    batch = generator.generate([GenerationRequest(p, 8) for p in prompts])
    singles = [generator.generate([GenerationRequest(p, 8)])[0] for p in prompts]
    assert batch == singles


def test_stream_joins_to_generate_and_honours_stop(generator: TextGenerator) -> None:
    full = generator.generate([GenerationRequest(PROMPT, 12)])[0]
    pieces = list(generator.stream(GenerationRequest(PROMPT, 12)))
    assert len(pieces) > 1 and "".join(pieces) == full
    stop = full.split()[3]
    cut = full[: full.find(stop)]
    assert generator.generate([GenerationRequest(PROMPT, 12, stop=(stop,))]) == [cut]
    assert "".join(generator.stream(GenerationRequest(PROMPT, 12, stop=(stop,)))) == cut


def test_sampling_with_a_seed_is_reproducible(generator: TextGenerator) -> None:
    req = GenerationRequest(PROMPT, 8, temperature=1.0, top_p=0.9, seed=3)
    assert generator.generate([req]) == generator.generate([req])


def test_max_output_len_caps_max_tokens(tiny_llama: Path) -> None:
    gen = TextGenerator.from_pretrained(tiny_llama, max_output_len=3)
    assert len(gen.tokenizer(gen.generate([GenerationRequest(PROMPT, 50)])[0])["input_ids"]) <= 3


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
def test_int8_dynamic_quantization_generates(tiny_llama: Path) -> None:
    gen = TextGenerator.from_pretrained(tiny_llama, quantization="int8_dynamic")
    assert isinstance(gen.generate([GenerationRequest(PROMPT, 4)])[0], str)


def test_bad_inputs_fail_clearly(tmp_path: Path, tiny_llama: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        TextGenerator.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="unknown CPU quantization"):
        TextGenerator.from_pretrained(tiny_llama, quantization="int3")  # type: ignore[arg-type]
