"""Client for the twin model on Triton (CPU Python backend or TensorRT-LLM ensemble), over HTTP or gRPC."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, TypeVar

import numpy as np

log = logging.getLogger("twin.serving.client")
T = TypeVar("T")

Protocol = Literal["http", "grpc"]
_RETRY_STATUS = ("503", "StatusCode.UNAVAILABLE", "StatusCode.RESOURCE_EXHAUSTED")


class TritonClientError(RuntimeError):
    """A request to Triton failed (bad input, model error, or timeout)."""


class TritonUnavailable(TritonClientError):
    """Triton could not be reached (or kept answering 503) after every retry."""


def _host_port(url: str) -> str:
    """``host:port`` as tritonclient wants it, from ``http://host:port``, ``grpc://host:port`` or ``host:port``."""
    return url.split("://", 1)[-1].rstrip("/")


def is_retryable(exc: BaseException) -> bool:
    """Connection refused/reset, HTTP 503 or gRPC UNAVAILABLE; never a timeout or a model error."""
    if isinstance(exc, TimeoutError):
        return False
    if isinstance(exc, ConnectionError | OSError):
        return True
    status = getattr(exc, "status", None)
    code = status() if callable(status) else None
    return str(code) in _RETRY_STATUS or "[503]" in str(exc)


def build_inputs(
    mod: Any,
    prompt: str,
    *,
    max_tokens: int,
    temperature: float,
    top_p: float,
    stop: Sequence[str] | None = None,
    top_k: int | None = None,
    seed: int | None = None,
    stream: bool | None = None,
) -> list[Any]:
    """The ensemble-compatible input tensors (batch of one) for ``mod`` = ``tritonclient.http`` or ``.grpc``."""
    tensors: list[tuple[str, str, np.ndarray]] = [
        ("text_input", "BYTES", np.array([[prompt.encode("utf-8")]], dtype=np.object_)),
        ("max_tokens", "INT32", np.array([[max_tokens]], dtype=np.int32)),
        ("temperature", "FP32", np.array([[temperature]], dtype=np.float32)),
        ("top_p", "FP32", np.array([[top_p]], dtype=np.float32)),
    ]
    if stop:
        tensors.append(("stop_words", "BYTES", np.array([[s.encode("utf-8") for s in stop]], dtype=np.object_)))
    if top_k is not None:
        tensors.append(("top_k", "INT32", np.array([[top_k]], dtype=np.int32)))
    if seed is not None:
        tensors.append(("random_seed", "UINT64", np.array([[seed]], dtype=np.uint64)))
    if stream is not None:
        tensors.append(("stream", "BOOL", np.array([[stream]], dtype=bool)))
    inputs = []
    for name, dtype, arr in tensors:
        tensor = mod.InferInput(name, list(arr.shape), dtype)
        tensor.set_data_from_numpy(arr)
        inputs.append(tensor)
    return inputs


def _decode(arr: np.ndarray | None) -> str:
    if arr is None:
        return ""
    return "".join(v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in arr.reshape(-1))


class TritonLLMClient:
    """Generate text from the twin served by Triton; thread-safe (one tritonclient per thread)."""

    def __init__(
        self,
        url: str,
        protocol: Protocol = "http",
        model: str = "twin_llm",
        *,
        stream_model: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if protocol not in ("http", "grpc"):
            raise ValueError(f"protocol must be 'http' or 'grpc', not {protocol!r}")
        self.url, self.protocol, self.model = _host_port(url), protocol, model
        self.stream_model = stream_model or f"{model}_stream"
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self._sleep = sleep
        self._local = threading.local()

    @property
    def _mod(self) -> Any:
        if self.protocol == "http":
            import tritonclient.http as mod
        else:
            import tritonclient.grpc as mod
        return mod

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            if self.protocol == "http":
                client = self._mod.InferenceServerClient(
                    self.url, connection_timeout=self.timeout_s, network_timeout=self.timeout_s
                )
            else:
                client = self._mod.InferenceServerClient(self.url)
            self._local.client = client
        return client

    def _with_retries(self, what: str, call: Callable[[], T]) -> T:
        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            try:
                return call()
            except Exception as exc:
                if not is_retryable(exc):
                    kind = "timed out" if isinstance(exc, TimeoutError) or "DEADLINE" in str(exc) else "failed"
                    raise TritonClientError(f"{what} on {self.protocol}://{self.url} {kind}: {exc}") from exc
                last = exc
                self._local.client = None  # reconnect on the next attempt
                if attempt < self.retries:
                    delay = min(self.backoff_s * 2**attempt, 10.0)
                    log.warning("triton unavailable, retrying what=%s attempt=%d delay=%.2f", what, attempt + 1, delay)
                    self._sleep(delay)
        raise TritonUnavailable(
            f"Triton at {self.protocol}://{self.url} is unavailable after {self.retries + 1} attempts "
            f"(is the server running? `twin serve`): {last}"
        ) from last

    def is_ready(self) -> bool:
        """Whether the server and the model answer ready."""
        try:
            return bool(self._client().is_server_ready() and self._client().is_model_ready(self.model))
        except Exception:
            self._local.client = None
            return False

    def wait_ready(self, timeout_s: float = 60.0, poll_s: float = 0.5) -> None:
        """Block until :meth:`is_ready`, else raise :class:`TritonUnavailable`."""
        deadline = time.monotonic() + timeout_s
        while not self.is_ready():
            if time.monotonic() > deadline:
                raise TritonUnavailable(
                    f"model {self.model!r} at {self.protocol}://{self.url} not ready in {timeout_s}s"
                )
            self._sleep(poll_s)

    def generate(
        self,
        prompt: str,
        max_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        *,
        top_k: int | None = None,
        seed: int | None = None,
    ) -> str:
        """The completion of ``prompt`` (without the prompt); greedy when ``temperature`` is 0."""
        mod = self._mod
        inputs = build_inputs(
            mod, prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, top_k=top_k, seed=seed
        )
        outputs = [mod.InferRequestedOutput("text_output")]

        def call() -> Any:
            if self.protocol == "grpc":
                return self._client().infer(self.model, inputs, outputs=outputs, client_timeout=self.timeout_s)
            return self._client().infer(self.model, inputs, outputs=outputs)

        result = self._with_retries(f"generate with {self.model}", call)
        return _decode(result.as_numpy("text_output"))

    def stream(
        self,
        prompt: str,
        max_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        *,
        seed: int | None = None,
    ) -> Iterator[str]:
        """Yield pieces of the completion from the decoupled ``stream_model`` over a gRPC stream."""
        if self.protocol != "grpc":
            raise TritonClientError("streaming needs protocol='grpc' (Triton streams decoupled models over gRPC)")
        import tritonclient.grpc as grpc

        inputs = build_inputs(
            grpc, prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed, stream=True
        )
        events: queue.Queue[tuple[Any, Any]] = queue.Queue()
        client = self._with_retries("connect", lambda: self._connected_grpc(grpc))
        client.start_stream(callback=lambda result, error: events.put((result, error)), stream_timeout=self.timeout_s)
        finished = False
        try:
            client.async_stream_infer(self.stream_model, inputs, enable_empty_final_response=True)
            while not finished:
                try:
                    result, error = events.get(timeout=self.timeout_s)
                except queue.Empty as exc:
                    msg = f"stream from {self.stream_model} timed out after {self.timeout_s}s"
                    raise TritonClientError(msg) from exc
                if error is not None:
                    finished = True  # the server closed the request
                    raise TritonClientError(f"stream from {self.stream_model} failed: {error}")
                piece = _decode(result.as_numpy("text_output"))
                final = result.get_response().parameters.get("triton_final_response")
                finished = final is not None and final.bool_param
                if piece:
                    yield piece
        finally:
            # Never cancel: on Triton 2.44 a cancelled decoupled request keeps its model from ever unloading.
            # Closing waits for the server to finish (at most max_tokens) when the caller stopped early.
            client.stop_stream()
            client.close()

    def _connected_grpc(self, grpc: Any) -> Any:
        client = grpc.InferenceServerClient(self.url)
        client.is_server_live(client_timeout=self.timeout_s)  # raises UNAVAILABLE when the server is down
        return client

    def close(self) -> None:
        """Close this thread's connection."""
        client, self._local.client = getattr(self._local, "client", None), None
        if client is not None:
            client.close()
