"""The ensemble's tokenizer models (pre/postprocessing) against a stand-in for ``triton_python_backend_utils``."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from transformers import AutoTokenizer

from twin_core.serving.model_configs import template
from twin_core.serving.pbtxt import with_params
from twin_core.serving.trtllm_text import Postprocessing, Preprocessing, word_list


class Tensor:
    def __init__(self, name: str, arr: np.ndarray) -> None:
        self.name, self.arr = name, arr

    def as_numpy(self) -> np.ndarray:
        return self.arr


class Response:
    def __init__(self, output_tensors: list[Tensor], error: Any = None) -> None:
        self.out, self.error = {t.name: t.arr for t in output_tensors}, error


class Request:
    def __init__(self, **inputs: np.ndarray) -> None:
        self.inputs = {k: Tensor(k, v) for k, v in inputs.items()}


@pytest.fixture
def pb(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    mod = types.ModuleType("triton_python_backend_utils")
    mod.Tensor, mod.InferenceResponse = Tensor, Response  # type: ignore[attr-defined]
    mod.TritonError = lambda msg: msg  # type: ignore[attr-defined]
    mod.get_input_tensor_by_name = lambda req, name: req.inputs.get(name)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", mod)
    return mod


def load(cls: type, name: str, tiny_llama: Path, **params: Any) -> Any:
    config = with_params(template(name), {"tokenizer_dir": str(tiny_llama), **params})
    config["parameters"] = {p["key"]: p["value"] for p in config["parameters"]}  # as Triton hands it over (JSON)
    model = cls()
    model.initialize({"model_config": json.dumps(config)})
    return model


def strings(*values: str) -> np.ndarray:
    return np.array([[v.encode() for v in values]], dtype=np.object_)


def test_word_list_is_tensorrt_llm_format(tiny_llama: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny_llama)
    q, b, d = (tok.convert_tokens_to_ids(w) for w in ("quick", "brown", "dog"))
    got = word_list(tok, ["quick brown", "", "dog"])
    assert got.dtype == np.int32 and got.tolist() == [[[q, b, d], [2, 3, -1]]]  # ids, then end offsets padded -1
    assert word_list(tok, []).tolist() == [[[0], [-1]]]


def test_preprocessing_tokenizes_and_builds_engine_inputs(pb: types.ModuleType, tiny_llama: Path) -> None:
    model = load(Preprocessing, "preprocessing", tiny_llama, add_special_tokens="false", max_input_len=3)
    tok = model.tokenizer
    prompt = "the quick brown fox jumps"
    good = Request(QUERY=strings(prompt), REQUEST_OUTPUT_LEN=np.array([[7]], np.int32), STOP_WORDS_DICT=strings("dog"))
    bad = Request(REQUEST_OUTPUT_LEN=np.array([[7]], np.int32))
    out, err = model.execute([good, bad])
    ids = tok.encode(prompt, add_special_tokens=False)[-3:]  # the end of the prompt is kept
    assert out.error is None and out.out["INPUT_ID"].tolist() == [ids]
    assert out.out["REQUEST_INPUT_LEN"].tolist() == [[3]] and out.out["REQUEST_OUTPUT_LEN"].tolist() == [[7]]
    assert out.out["STOP_WORDS_IDS"].tolist() == [[[tok.convert_tokens_to_ids("dog")], [1]]]
    assert out.out["BAD_WORDS_IDS"].tolist() == [[[0], [-1]]]
    assert out.out["OUT_END_ID"].tolist() == [[tok.eos_token_id]] and out.out["OUT_PAD_ID"].tolist() == [
        [tok.pad_token_id]
    ]
    assert out.out["EMBEDDING_BIAS"].shape == (1, 0)
    assert "QUERY" in err.error and not err.out  # the bad request fails alone


def test_preprocessing_takes_end_and_pad_ids_from_the_request(pb: types.ModuleType, tiny_llama: Path) -> None:
    model = load(Preprocessing, "preprocessing", tiny_llama)
    req = Request(
        QUERY=strings("fox"),
        REQUEST_OUTPUT_LEN=np.array([[2]], np.int32),
        END_ID=np.array([[5]], np.int32),
        PAD_ID=np.array([[6]], np.int32),
    )
    (out,) = model.execute([req])
    assert (out.out["OUT_END_ID"].tolist(), out.out["OUT_PAD_ID"].tolist()) == ([[5]], [[6]])
    assert out.out["INPUT_ID"].tolist() == [model.tokenizer.encode("fox")]  # add_special_tokens: true by default


def test_postprocessing_decodes_up_to_length_and_cuts_at_stop_words(pb: types.ModuleType, tiny_llama: Path) -> None:
    model = load(Postprocessing, "postprocessing", tiny_llama)
    tok = model.tokenizer
    ids = tok.encode("lazy dog while my twin", add_special_tokens=False) + [tok.pad_token_id] * 3
    tokens = np.array([[ids]], dtype=np.int32)  # [batch 1, beam 1, T]
    (plain,) = model.execute([Request(TOKENS_BATCH=tokens, SEQUENCE_LENGTH=np.array([[4]], np.int32))])
    assert plain.out["OUTPUT"].tolist() == [[b"lazy dog while my"]]
    req = Request(TOKENS_BATCH=tokens, SEQUENCE_LENGTH=np.array([[5]], np.int32), STOP_WORDS_DICT=strings("while"))
    (cut,) = model.execute([req])
    assert cut.out["OUTPUT"].tolist() == [[b"lazy dog "]]  # exactly what the CPU model answers with this stop
