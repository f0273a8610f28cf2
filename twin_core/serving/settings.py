"""Quantization and serving settings (TensorRT-LLM on GPU, Triton Python backend on CPU)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twin_core.config.base import Settings


class QuantizationSettings(Settings):
    """How weights (and the KV cache) are quantised for serving."""

    method: Literal["none", "fp8", "int4_awq", "int8_sq", "int8_wo", "cpu_int8_dynamic"] = "none"
    kv_cache: Literal["none", "fp8", "int8"] = "none"


class ServingSettings(Settings):
    """Where and how the model is served."""

    backend: Literal["triton_python", "tensorrt_llm"] = "triton_python"
    target: Literal["local", "sagemaker"] = "local"
    http_port: int = Field(default=8000, gt=0, lt=65536)
    grpc_port: int = Field(default=8001, gt=0, lt=65536)
    max_batch_size: int = Field(default=8, gt=0)
    max_input_len: int = Field(default=1024, gt=0)
    max_output_len: int = Field(default=256, gt=0)
