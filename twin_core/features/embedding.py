"""Sentence-transformers embedding: one model per process, batches sorted by length, normalised float32 vectors."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from twin_core.features.settings import EmbeddingSettings
from twin_core.features.tokens import load_token_counter, resolve_model_path

log = logging.getLogger(__name__)


def resolve_dtype(settings: EmbeddingSettings) -> str:
    """The dtype to run: ``auto`` is bfloat16 on a CPU with native bf16, float16 on CUDA, else float32."""
    if settings.dtype != "auto" or settings.quantize == "int8":
        return "float32" if settings.quantize == "int8" else settings.dtype
    import torch

    if settings.device.startswith("cuda"):
        return "float16"
    if settings.device == "cpu" and torch.backends.mkldnn.is_available():
        try:
            if torch.ops.mkldnn._is_mkldnn_bf16_supported():
                return "bfloat16"
        except (AttributeError, RuntimeError):
            pass
    return "float32"


@lru_cache(maxsize=2)
def _load(path: str, device: str, dtype: str, backend: str, quantize: str, max_seq_length: int) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    if backend == "onnx":
        try:
            import onnxruntime  # noqa: F401
            import optimum  # noqa: F401
        except ImportError as exc:
            raise RuntimeError(
                "embedding.backend 'onnx' needs onnxruntime and optimum (pip install 'sentence-transformers[onnx]'); "
                f"not installed here ({exc.name})"
            ) from exc
    model = SentenceTransformer(path, device=device, backend=backend, local_files_only=True)
    model.max_seq_length = max_seq_length
    if backend == "torch" and dtype != "float32":
        model = model.to(getattr(torch, dtype))
    if quantize == "int8":
        from torch.ao.quantization import quantize_dynamic

        for module in model:
            if hasattr(module, "model") and isinstance(module.model, torch.nn.Module):
                module.model = quantize_dynamic(module.model, {torch.nn.Linear}, dtype=torch.qint8)
    model.eval()
    log.info("embedding model loaded: %s (%s, %s, %s, quantize=%s)", path, device, dtype, backend, quantize)
    return model


class Embedder:
    """Embeds texts with the configured model; the model loads once per process and settings."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model_id = settings.model_id
        self.dtype = resolve_dtype(settings)

    @property
    def model(self) -> Any:
        s = self.settings
        path = str(resolve_model_path(s))
        return _load(path, s.device, self.dtype, s.backend, s.quantize, s.max_seq_length)

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors (rows in input order, float32, unit length when ``normalize``); batches of similar token length."""
        dim = self.settings.dimension
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        model, size = self.model, self.settings.batch_size
        lengths = load_token_counter(self.settings).count(texts)  # tokens, not characters: ~2% padding, not ~20%
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        out = np.empty((len(texts), dim), dtype=np.float32)
        for at in range(0, len(order), size):
            idx = order[at : at + size]
            vecs = model.encode(
                [texts[i] for i in idx], batch_size=size, convert_to_tensor=True, show_progress_bar=False
            )
            vecs = vecs.float().cpu().numpy()
            if vecs.shape[1] != dim:
                raise ValueError(f"embedding.dimension is {dim} but model {self.model_id!r} gives {vecs.shape[1]}")
            if self.settings.normalize:
                vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            out[idx] = vecs
            if progress is not None:
                progress(len(idx))
        return out

    def embed_query(self, text: str) -> list[float]:
        """One query's vector, as the vector store takes it."""
        return self.embed([text])[0].tolist()


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two equally shaped matrices."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.sum(a * b, axis=1)
