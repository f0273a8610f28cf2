"""The Triton Python-backend model for CPU serving; ``triton_models/*/1/model.py`` re-export its class.

Tensors match the TensorRT-LLM ensemble (``text_input``, ``max_tokens``, ``temperature``, ``top_p``, ``top_k``,
``stop_words``, ``random_seed``, ``stream`` -> ``text_output``) so a client cannot tell which backend serves it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from twin_core.serving.generation import GenerationRequest, TextGenerator

log = logging.getLogger("twin.serving.python_backend")


def _param(config: dict[str, Any], key: str, default: str = "") -> str:
    """A ``parameters { key: ... string_value: ... }`` entry of the model config, env vars expanded."""
    value = config.get("parameters", {}).get(key, {}).get("string_value", default)
    return os.path.expandvars(str(value)).strip()


def resolve_model_path(model_dir: Path, version: str, config: dict[str, Any]) -> Path:
    """Weights for this version: files in the version folder, its ``model/`` subfolder, else ``model_path``."""
    version_dir = model_dir / version
    candidates = [version_dir, version_dir / "model"]
    if param := _param(config, "model_path"):
        path = Path(param).expanduser()
        candidates.append(path if path.is_absolute() else model_dir / path)
    for path in candidates:
        if (path / "config.json").is_file():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(f"no Hugging Face model (config.json) for {model_dir.name} v{version}; tried {tried}")


def _values(pb: Any, request: Any, name: str) -> np.ndarray | None:
    tensor = pb.get_input_tensor_by_name(request, name)
    return None if tensor is None else tensor.as_numpy().reshape(-1)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def parse_request(pb: Any, request: Any, defaults: GenerationRequest) -> tuple[GenerationRequest, bool]:
    """The generation request (and the ``stream`` flag) carried by one Triton request."""
    text = _values(pb, request, "text_input")
    if text is None or text.size == 0:
        raise ValueError("input 'text_input' is required")
    fields: dict[str, Any] = {"prompt": _text(text[0])}
    for name, key, cast in (
        ("max_tokens", "max_tokens", int),
        ("temperature", "temperature", float),
        ("top_p", "top_p", float),
        ("top_k", "top_k", int),
        ("random_seed", "seed", int),
    ):
        arr = _values(pb, request, name)
        if arr is not None and arr.size:
            fields[key] = cast(arr[0])
    stops = _values(pb, request, "stop_words")
    if stops is not None:
        fields["stop"] = tuple(s for s in (_text(v) for v in stops) if s)
    if fields.get("max_tokens", defaults.max_tokens) < 1:
        raise ValueError("max_tokens must be >= 1")
    stream = _values(pb, request, "stream")
    base = {k: getattr(defaults, k) for k in ("max_tokens", "temperature", "top_p", "top_k", "stop", "seed")}
    return GenerationRequest(**(base | fields)), bool(stream[0]) if stream is not None and stream.size else True


class TritonPythonModel:
    """Loads the twin's causal LM per instance; batches requests, or streams pieces when decoupled."""

    def initialize(self, args: dict[str, str]) -> None:
        """Read the model config, find this version's weights and load them."""
        import triton_python_backend_utils as pb  # only importable inside the backend stub
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.pb = pb
        self.config = json.loads(args["model_config"])
        self.batched = int(self.config.get("max_batch_size", 0)) > 0
        self.decoupled = bool(pb.using_decoupled_model_transaction_policy(self.config))
        model_dir = Path(args["model_repository"])
        path = resolve_model_path(model_dir, str(args["model_version"]), self.config)
        self.defaults = GenerationRequest(prompt="", max_tokens=int(_param(self.config, "default_max_tokens", "64")))
        self.generator = TextGenerator.from_pretrained(
            path,
            quantization=_param(self.config, "quantization", "none") or "none",  # type: ignore[arg-type]
            threads=int(_param(self.config, "torch_threads", "0") or 0),
            max_input_len=int(_param(self.config, "max_input_len", "1024")),
            max_output_len=int(_param(self.config, "max_output_len", "256")),
        )
        name = args.get("model_instance_name", "")
        model = args.get("model_name", model_dir.name)
        print(f"{model} ready instance={name} version={args['model_version']} weights={path}", flush=True)

    def _output(self, text: str) -> Any:
        shape = (1, 1) if self.batched else (1,)
        arr = np.array([text.encode("utf-8")], dtype=np.object_).reshape(shape)
        return self.pb.InferenceResponse(output_tensors=[self.pb.Tensor("text_output", arr)])

    def _error(self, message: str, *, bad_input: bool = False) -> Any:
        code = getattr(self.pb.TritonError, "INVALID_ARG" if bad_input else "INTERNAL", None)
        error = self.pb.TritonError(message) if code is None else self.pb.TritonError(message, code)
        return self.pb.InferenceResponse(output_tensors=[], error=error)

    def execute(self, requests: list[Any]) -> list[Any] | None:
        """One response per request (a padded batch per sampling group), or streamed pieces when decoupled."""
        if self.decoupled:
            for request in requests:
                self._execute_stream(request)
            return None
        responses: list[Any] = [None] * len(requests)
        parsed: list[tuple[int, GenerationRequest]] = []
        for i, request in enumerate(requests):
            try:
                parsed.append((i, parse_request(self.pb, request, self.defaults)[0]))
            except Exception as exc:
                responses[i] = self._error(f"bad request: {exc}", bad_input=True)
        try:
            texts = self.generator.generate([req for _, req in parsed])
            for (i, _), text in zip(parsed, texts, strict=True):
                responses[i] = self._output(text)
        except Exception as exc:
            for i, _ in parsed:
                responses[i] = self._error(f"generation failed: {type(exc).__name__}: {exc}")
        return responses

    def _execute_stream(self, request: Any) -> None:
        final = self.pb.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        sender = request.get_response_sender()
        try:
            req, stream = parse_request(self.pb, request, self.defaults)
        except Exception as exc:
            sender.send(self._error(f"bad request: {exc}", bad_input=True), flags=final)
            return
        try:
            if not stream:
                sender.send(self._output(self.generator.generate([req])[0]), flags=final)
                return
            for piece in self.generator.stream(req):
                sender.send(self._output(piece))
            sender.send(flags=final)
        except Exception as exc:
            sender.send(self._error(f"{type(exc).__name__}: {exc}"), flags=final)

    def finalize(self) -> None:
        """Drop the model so the stub exits quickly."""
        self.generator = None  # type: ignore[assignment]
