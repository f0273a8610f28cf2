"""Python-backend tokenizer models around the TensorRT-LLM engine: ``preprocessing`` and ``postprocessing``.

``triton_models/{pre,post}processing/1/model.py`` re-export these. Tensor names follow tensorrtllm_backend's
(``QUERY`` -> ``INPUT_ID`` ..., ``TOKENS_BATCH`` -> ``OUTPUT``); stop words use TensorRT-LLM's ``[2, N]`` word
list (token ids, then end offsets padded with -1).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from twin_core.serving.generation import truncate_at_stop
from twin_core.serving.python_backend import _param


def _texts(pb: Any, request: Any, name: str) -> list[str]:
    tensor = pb.get_input_tensor_by_name(request, name)
    if tensor is None:
        return []
    values = tensor.as_numpy().reshape(-1)
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _int(pb: Any, request: Any, name: str, default: int | None) -> int | None:
    tensor = pb.get_input_tensor_by_name(request, name)
    return default if tensor is None else int(tensor.as_numpy().reshape(-1)[0])


def word_list(tokenizer: Any, words: Sequence[str]) -> np.ndarray:
    """TensorRT-LLM's stop/bad word tensor ``[1, 2, N]``: flat token ids, then cumulative end offsets."""
    ids: list[int] = []
    offsets: list[int] = []
    for word in (w for w in words if w):
        ids += list(tokenizer.encode(word, add_special_tokens=False))
        offsets.append(len(ids))
    if not ids:
        return np.array([[[0], [-1]]], dtype=np.int32)
    offsets += [-1] * (len(ids) - len(offsets))
    return np.array([[ids, offsets]], dtype=np.int32)


def _load_tokenizer(config: dict[str, Any]) -> Any:
    from transformers import AutoTokenizer

    path = _param(config, "tokenizer_dir")
    if not path:
        raise ValueError("parameter 'tokenizer_dir' is empty")
    return AutoTokenizer.from_pretrained(path)


class _TokenizerModel:
    """Shared setup: the model config, ``pb`` utils and the tokenizer named by ``tokenizer_dir``."""

    def initialize(self, args: dict[str, str]) -> None:
        """Read the config and load the tokenizer."""
        import triton_python_backend_utils as pb

        self.pb = pb
        self.config = json.loads(args["model_config"])
        self.tokenizer = _load_tokenizer(self.config)

    def _tensor(self, name: str, arr: np.ndarray) -> Any:
        return self.pb.Tensor(name, arr)

    def _error(self, exc: Exception) -> Any:
        return self.pb.InferenceResponse(output_tensors=[], error=self.pb.TritonError(f"{type(exc).__name__}: {exc}"))

    def execute(self, requests: list[Any]) -> list[Any]:
        """One response per request; a bad request gets an error response, the others still answer."""
        out = []
        for request in requests:
            try:
                out.append(self.pb.InferenceResponse(output_tensors=self.process(request)))
            except Exception as exc:
                out.append(self._error(exc))
        return out

    def process(self, request: Any) -> list[Any]:
        raise NotImplementedError

    def finalize(self) -> None:
        """Nothing to release."""


class Preprocessing(_TokenizerModel):
    """Prompt text -> token ids, lengths, stop/bad word lists, end and pad ids."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load the tokenizer; read ``add_special_tokens`` and ``max_input_len``."""
        super().initialize(args)
        self.add_special = _param(self.config, "add_special_tokens", "true").lower() == "true"
        self.max_input_len = int(_param(self.config, "max_input_len", "0") or 0)

    def process(self, request: Any) -> list[Any]:
        """The engine's inputs for one request (batch of one)."""
        pb, tok = self.pb, self.tokenizer
        query = _texts(pb, request, "QUERY")
        if not query:
            raise ValueError("input 'QUERY' is required")
        ids = list(tok.encode(query[0], add_special_tokens=self.add_special))
        if self.max_input_len and len(ids) > self.max_input_len:
            ids = ids[-self.max_input_len :]  # keep the end of the prompt, as the CPU model does
        end_id = _int(pb, request, "END_ID", tok.eos_token_id)
        pad_id = _int(pb, request, "PAD_ID", tok.pad_token_id if tok.pad_token_id is not None else end_id)
        out_len = _int(pb, request, "REQUEST_OUTPUT_LEN", None)
        if out_len is None or out_len < 1:
            raise ValueError("REQUEST_OUTPUT_LEN must be >= 1")
        one = lambda v: np.array([[v]], dtype=np.int32)  # noqa: E731
        return [
            self._tensor("INPUT_ID", np.array([ids], dtype=np.int32)),
            self._tensor("REQUEST_INPUT_LEN", one(len(ids))),
            self._tensor("DECODER_INPUT_ID", one(pad_id)),
            self._tensor("REQUEST_DECODER_INPUT_LEN", one(0)),
            self._tensor("REQUEST_OUTPUT_LEN", one(out_len)),
            self._tensor("STOP_WORDS_IDS", word_list(tok, _texts(pb, request, "STOP_WORDS_DICT"))),
            self._tensor("BAD_WORDS_IDS", word_list(tok, _texts(pb, request, "BAD_WORDS_DICT"))),
            self._tensor("EMBEDDING_BIAS", np.zeros((1, 0), dtype=np.float32)),
            self._tensor("OUT_END_ID", one(end_id)),
            self._tensor("OUT_PAD_ID", one(pad_id)),
        ]


class Postprocessing(_TokenizerModel):
    """Generated token ids -> text, cut before the first stop word (as the CPU model answers)."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load the tokenizer; read ``skip_special_tokens``."""
        super().initialize(args)
        self.skip_special = _param(self.config, "skip_special_tokens", "true").lower() == "true"

    def process(self, request: Any) -> list[Any]:
        """``OUTPUT`` ``[1, beams]`` for one request."""
        tokens = self.pb.get_input_tensor_by_name(request, "TOKENS_BATCH").as_numpy()
        lengths = self.pb.get_input_tensor_by_name(request, "SEQUENCE_LENGTH").as_numpy()
        tokens = tokens.reshape(-1, tokens.shape[-1])  # [beams, T]
        lengths = lengths.reshape(-1)
        stops = _texts(self.pb, request, "STOP_WORDS_DICT")
        texts = []
        for beam, n in zip(tokens, lengths, strict=True):
            text = self.tokenizer.decode(beam[: int(n)].tolist(), skip_special_tokens=self.skip_special)
            texts.append(truncate_at_stop(text, stops).encode("utf-8"))
        return [self._tensor("OUTPUT", np.array([texts], dtype=np.object_))]
