"""Triton client: ensemble-compatible tensors, which errors are retried, and the backoff schedule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tritonclient.grpc as grpc
import tritonclient.http as http
from tritonclient.utils import InferenceServerException

from twin_core.serving.client import (
    TritonClientError,
    TritonLLMClient,
    TritonUnavailable,
    build_inputs,
    is_retryable,
)


@pytest.mark.parametrize("mod", [http, grpc])
def test_build_inputs_match_the_tensorrt_llm_ensemble(mod: Any) -> None:
    inputs = build_inputs(mod, "héllo", max_tokens=7, temperature=0.5, top_p=0.9, stop=["\n", "END"], seed=1)
    got = {i.name(): (i.datatype(), i.shape()) for i in inputs}
    assert got == {
        "text_input": ("BYTES", [1, 1]),
        "max_tokens": ("INT32", [1, 1]),
        "temperature": ("FP32", [1, 1]),
        "top_p": ("FP32", [1, 1]),
        "stop_words": ("BYTES", [1, 2]),
        "random_seed": ("UINT64", [1, 1]),
    }
    no_stop = {i.name() for i in build_inputs(mod, "x", max_tokens=1, temperature=0.0, top_p=1.0, stream=True)}
    assert no_stop == {"text_input", "max_tokens", "temperature", "top_p", "stream"}


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (ConnectionResetError(), True),
        (InferenceServerException("down", status="StatusCode.UNAVAILABLE"), True),
        (InferenceServerException("[503] busy", status="503"), True),
        (TimeoutError("slow"), False),
        (InferenceServerException("deadline", status="StatusCode.DEADLINE_EXCEEDED"), False),
        (InferenceServerException("bad request: max_tokens", status="400"), False),
        (ValueError("boom"), False),
    ],
)
def test_only_connection_errors_and_unavailable_are_retried(exc: BaseException, retry: bool) -> None:
    assert is_retryable(exc) is retry


class FakeResult:
    def as_numpy(self, name: str) -> np.ndarray:
        assert name == "text_output"
        return np.array([[b"ok"]], dtype=np.object_)


class FlakyClient:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures, self.calls = failures, 0

    def infer(self, model: str, inputs: list[Any], **kwargs: Any) -> FakeResult:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return FakeResult()


def client_with(fake: FlakyClient, retries: int = 3) -> tuple[TritonLLMClient, list[float]]:
    sleeps: list[float] = []
    client = TritonLLMClient("http://127.0.0.1:1", retries=retries, backoff_s=0.5, sleep=sleeps.append)
    client._client = lambda: fake  # type: ignore[method-assign]
    return client, sleeps


def test_retries_with_exponential_backoff_then_succeeds() -> None:
    fake = FlakyClient([ConnectionRefusedError(), InferenceServerException("x", status="StatusCode.UNAVAILABLE")])
    client, sleeps = client_with(fake)
    assert client.generate("hi") == "ok"
    assert fake.calls == 3 and sleeps == [0.5, 1.0]


def test_gives_up_with_a_clear_error_when_the_server_stays_down() -> None:
    client, sleeps = client_with(FlakyClient([ConnectionRefusedError()] * 5), retries=2)
    with pytest.raises(TritonUnavailable, match=r"http://127.0.0.1:1 is unavailable after 3 attempts"):
        client.generate("hi")
    assert sleeps == [0.5, 1.0]


def test_model_errors_and_timeouts_are_not_retried() -> None:
    client, sleeps = client_with(FlakyClient([InferenceServerException("[400] bad request", status="400")]))
    with pytest.raises(TritonClientError, match=r"failed: .*bad request"):
        client.generate("hi")
    client, sleeps = client_with(FlakyClient([TimeoutError("read timed out")]))
    with pytest.raises(TritonClientError, match="timed out"):
        client.generate("hi")
    assert sleeps == []


def test_urls_and_protocols() -> None:
    assert TritonLLMClient("grpc://127.0.0.1:8001/", "grpc").url == "127.0.0.1:8001"
    assert TritonLLMClient("localhost:8000", model="ensemble").stream_model == "ensemble_stream"
    with pytest.raises(ValueError, match="protocol"):
        TritonLLMClient("x:1", "tcp")  # type: ignore[arg-type]
    with pytest.raises(TritonClientError, match="grpc"):
        next(TritonLLMClient("x:1", "http").stream("hi"))
