"""The Triton Python-backend model against a stand-in for ``triton_python_backend_utils``."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin_core.serving.generation import GenerationRequest
from twin_core.serving.python_backend import TritonPythonModel, parse_request, resolve_model_path
from twin_core.serving.tiny import greedy_reference


class Tensor:
    def __init__(self, name: str, arr: np.ndarray) -> None:
        self.name, self.arr = name, arr

    def as_numpy(self) -> np.ndarray:
        return self.arr


class Response:
    def __init__(self, output_tensors: list[Tensor], error: Any = None) -> None:
        self.outputs, self.error = output_tensors, error

    def text(self) -> str:
        return self.outputs[0].arr.reshape(-1)[0].decode()


class TritonError:
    INVALID_ARG, INTERNAL = "INVALID_ARG", "INTERNAL"

    def __init__(self, message: str, code: str | None = None) -> None:
        self.message, self.code = message, code


class Sender:
    def __init__(self) -> None:
        self.sent: list[tuple[Response | None, int]] = []

    def send(self, response: Response | None = None, flags: int = 0) -> None:
        self.sent.append((response, flags))


class Request:
    def __init__(self, **inputs: np.ndarray) -> None:
        self.inputs = {k: Tensor(k, v) for k, v in inputs.items()}
        self.sender = Sender()

    def get_response_sender(self) -> Sender:
        return self.sender


@pytest.fixture
def pb(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    mod = types.ModuleType("triton_python_backend_utils")
    mod.Tensor, mod.InferenceResponse, mod.TritonError = Tensor, Response, TritonError  # type: ignore[attr-defined]
    mod.TRITONSERVER_RESPONSE_COMPLETE_FINAL = 1  # type: ignore[attr-defined]
    mod.get_input_tensor_by_name = lambda req, name: req.inputs.get(name)  # type: ignore[attr-defined]
    mod.using_decoupled_model_transaction_policy = (  # type: ignore[attr-defined]
        lambda cfg: cfg.get("model_transaction_policy", {}).get("decoupled", False)
    )
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", mod)
    return mod


def request(prompt: str, max_tokens: int = 6, **extra: np.ndarray) -> Request:
    text = np.array([[prompt.encode()]], dtype=np.object_)
    return Request(text_input=text, max_tokens=np.array([[max_tokens]], dtype=np.int32), **extra)


def test_parse_request_reads_ensemble_tensors_and_defaults(pb: types.ModuleType) -> None:
    stops = np.array([[b"dog", b""]], dtype=np.object_)
    req, stream = parse_request(
        pb, request("hi", 5, temperature=np.array([[0.5]], np.float32), stop_words=stops), GenerationRequest("", 64)
    )
    assert req == GenerationRequest("hi", 5, temperature=0.5, stop=("dog",)) and stream is True
    flag = np.array([[False]])
    assert parse_request(pb, request("hi", stream=flag), GenerationRequest(""))[1] is False
    with pytest.raises(ValueError, match="text_input"):
        parse_request(pb, Request(), GenerationRequest(""))
    with pytest.raises(ValueError, match="max_tokens must be >= 1"):
        parse_request(pb, request("hi", 0), GenerationRequest(""))


def test_model_path_prefers_version_files_then_subfolder_then_parameter(tmp_path: Path, tiny_llama: Path) -> None:
    model_dir = tmp_path / "twin_llm"
    (model_dir / "1" / "model").mkdir(parents=True)
    config = {"parameters": {"model_path": {"string_value": str(tiny_llama)}}}
    assert resolve_model_path(model_dir, "1", config) == tiny_llama
    (model_dir / "1" / "model" / "config.json").write_text("{}")
    assert resolve_model_path(model_dir, "1", config) == model_dir / "1" / "model"
    (model_dir / "1" / "config.json").write_text("{}")
    assert resolve_model_path(model_dir, "1", config) == model_dir / "1"
    with pytest.raises(FileNotFoundError, match="tried"):
        resolve_model_path(model_dir, "2", {"parameters": {"model_path": {"string_value": "missing"}}})


def make_model(pb: types.ModuleType, tmp_path: Path, weights: Path, *, decoupled: bool = False) -> TritonPythonModel:
    config: dict[str, Any] = {"max_batch_size": 8, "parameters": {"model_path": {"string_value": str(weights)}}}
    if decoupled:
        config["model_transaction_policy"] = {"decoupled": True}
    model = TritonPythonModel()
    model.initialize({"model_config": json.dumps(config), "model_repository": str(tmp_path), "model_version": "1"})
    return model


def test_execute_answers_each_request_and_isolates_a_bad_one(
    pb: types.ModuleType, tmp_path: Path, tiny_llama: Path
) -> None:
    model = make_model(pb, tmp_path, tiny_llama)
    responses = model.execute([request("the quick"), request("bad", 0), request("a lazy dog", 4)])
    assert responses is not None
    assert responses[0].text() == greedy_reference(tiny_llama, "the quick", 6)
    assert responses[0].outputs[0].arr.shape == (1, 1)
    assert responses[1].error.code == "INVALID_ARG" and "max_tokens" in responses[1].error.message
    assert responses[2].text() == greedy_reference(tiny_llama, "a lazy dog", 4)


def test_decoupled_streams_pieces_then_a_final_flag(pb: types.ModuleType, tmp_path: Path, tiny_llama: Path) -> None:
    model = make_model(pb, tmp_path, tiny_llama, decoupled=True)
    streamed, whole, bad = (
        request("the quick", 10),
        request("the quick", 10, stream=np.array([[False]])),
        request("x", 0),
    )
    assert model.execute([streamed, whole, bad]) is None
    pieces = [r.text() for r, flags in streamed.sender.sent if r is not None]
    assert len(pieces) > 1 and streamed.sender.sent[-1] == (None, 1)
    assert "".join(pieces) == greedy_reference(tiny_llama, "the quick", 10)
    ((response, flags),) = whole.sender.sent
    assert flags == 1 and response is not None and response.text() == "".join(pieces)
    ((error, flags),) = bad.sender.sent
    assert flags == 1 and error is not None and error.error.code == "INVALID_ARG"
