"""Quantization and serving settings: TensorRT-LLM engines and their Triton models on GPU, Python backend on CPU."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from twin_core.cloud.settings import SageMakerEndpointSettings
from twin_core.config.base import Settings

Scalar = str | int | float | bool


def _device_ids(value: object) -> object:
    """GPU ids as Triton wants them (``"0,1"``), from ``"0,1"``, ``0`` or ``[0, 1]``."""
    if value is None or isinstance(value, str):
        return value
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


DeviceIds = Annotated[str | None, BeforeValidator(_device_ids)]


class QuantizationReportSettings(Settings):
    """The CPU quantization report: same prompts and held-out texts for the float and quantised model."""

    prompts: int = Field(default=4, gt=0, description="Prompts timed for tokens/s.")
    max_tokens: int = Field(default=16, gt=0)
    heldout_path: str | None = Field(default=None, description="Text/JSONL held-out file; None: built-in texts.")
    max_texts: int = Field(default=32, gt=0)


class QuantizationSettings(Settings):
    """How weights and KV cache are quantised: TensorRT-LLM checkpoint formats, or int8 dynamic on CPU."""

    method: Literal["none", "fp8", "int4_awq", "int8_sq", "int8_wo", "cpu_int8_dynamic"] = "none"
    kv_cache: Literal["none", "fp8", "int8"] = "none"
    dtype: Literal["float16", "bfloat16", "float32"] = "float16"
    calib_size: int = Field(default=512, gt=0, description="Calibration samples (ModelOpt quantize.py).")
    calib_dataset: str | None = Field(default=None, description="None: TensorRT-LLM's default calibration set.")
    awq_block_size: int = Field(default=128, gt=0)
    args: dict[str, Scalar | None] = Field(default_factory=dict, description="Extra checkpoint flags, applied last.")
    report: QuantizationReportSettings = QuantizationReportSettings()

    @model_validator(mode="after")
    def _kv_cache_needs_tensorrt_llm(self) -> QuantizationSettings:
        if self.method == "cpu_int8_dynamic" and self.kv_cache != "none":
            raise ValueError(f"kv_cache={self.kv_cache!r} is a TensorRT-LLM option; cpu_int8_dynamic needs 'none'")
        return self


class DynamicBatchingSettings(Settings):
    """Triton's dynamic batcher: wait up to ``max_queue_delay_us`` to group requests."""

    enabled: bool = True
    max_queue_delay_us: int = Field(default=2000, ge=0)
    preferred_batch_sizes: list[int] = Field(default_factory=list)


class CpuModelSettings(Settings):
    """The Python-backend ``twin_llm`` model (and its streaming twin) on CPU."""

    instance_count: int = Field(default=1, gt=0)
    torch_threads: int = Field(default=0, ge=0, description="0: torch's default.")
    default_max_tokens: int = Field(default=64, gt=0)
    stream_model: bool = Field(default=True, description="Also serve the decoupled <model_name>_stream.")
    dynamic_batching: DynamicBatchingSettings = DynamicBatchingSettings()


class SpeculativeSettings(Settings):
    """Draft-target speculative decoding: a small draft engine proposes tokens the target engine verifies."""

    enabled: bool = False
    draft_model: str | None = Field(default=None, description="HF folder of the draft model (same tokenizer).")
    max_draft_len: int = Field(default=4, gt=0, description="Target engine's --max_draft_len.")
    num_draft_tokens: int = Field(default=4, gt=0, description="Draft tokens per step at serving time.")
    use_draft_logits: bool = False
    draft_gpu_device_ids: DeviceIds = Field(default=None, description='GPUs of the draft engine: "1", 1 or [1].')
    draft_kv_cache_free_gpu_mem_fraction: float = Field(default=0.2, gt=0, le=1)

    @model_validator(mode="after")
    def _draft(self) -> SpeculativeSettings:
        if self.enabled and not self.draft_model:
            raise ValueError("speculative decoding needs draft_model (an HF folder sharing the target's tokenizer)")
        if self.num_draft_tokens > self.max_draft_len:
            raise ValueError(f"num_draft_tokens={self.num_draft_tokens} exceeds max_draft_len={self.max_draft_len}")
        return self


class TrtllmSettings(Settings):
    """TensorRT-LLM engine build and the ``tensorrt_llm`` Triton model (paths are inside the GPU image)."""

    python: str = "python3"
    convert_script: str = "/app/tensorrt_llm/examples/models/core/llama/convert_checkpoint.py"
    quantize_script: str = "/app/tensorrt_llm/examples/quantization/quantize.py"
    tp_size: int = Field(default=1, gt=0)
    pp_size: int = Field(default=1, gt=0)
    max_seq_len: int | None = Field(default=None, gt=0, description="None: max_input_len + max_output_len.")
    max_num_tokens: int | None = Field(default=None, gt=0)
    max_beam_width: int = Field(default=1, gt=0)
    batching_strategy: Literal["inflight_fused_batching", "V1"] = "inflight_fused_batching"
    batch_scheduler_policy: Literal["max_utilization", "guaranteed_no_evict"] = "guaranteed_no_evict"
    kv_cache_type: Literal["paged", "continuous"] = "paged"
    kv_cache_free_gpu_mem_fraction: float = Field(default=0.9, gt=0, le=1)
    max_tokens_in_paged_kv_cache: int | None = Field(default=None, gt=0)
    enable_kv_cache_reuse: bool = False
    enable_chunked_context: bool = False
    use_paged_context_fmha: bool = True
    gemm_plugin: str = "auto"
    decoupled: bool = Field(default=True, description="Stream tokens (decoupled tensorrt_llm model).")
    max_queue_delay_us: int = Field(default=0, ge=0)
    gpu_device_ids: DeviceIds = Field(default=None, description="None: 0..world_size-1; or '0,1', 0, [0, 1].")
    pre_post_instances: int = Field(default=1, gt=0)
    speculative: SpeculativeSettings = SpeculativeSettings()
    build_args: dict[str, Scalar | None] = Field(default_factory=dict, description="Extra trtllm-build flags.")
    bls_model_py: str | None = Field(
        default=None, description="tensorrtllm_backend's tensorrt_llm_bls/1/model.py (speculative decoding)."
    )

    @property
    def world_size(self) -> int:
        """GPUs one engine spans: tensor x pipeline parallel."""
        return self.tp_size * self.pp_size

    @model_validator(mode="after")
    def _rules(self) -> TrtllmSettings:
        if self.batching_strategy == "inflight_fused_batching" and self.kv_cache_type != "paged":
            raise ValueError("inflight_fused_batching needs kv_cache_type='paged'")
        if self.speculative.enabled and (self.max_beam_width != 1 or not self.use_paged_context_fmha):
            raise ValueError("speculative decoding needs max_beam_width=1 and use_paged_context_fmha=true")
        if self.speculative.enabled and self.decoupled:
            raise ValueError("speculative decoding (BLS over draft and target) needs decoupled=false")
        return self


class ServingSettings(Settings):
    """Where and how the model is served, and which registered model is deployed."""

    backend: Literal["triton_python", "tensorrt_llm"] = "triton_python"
    target: Literal["local", "sagemaker"] = "local"
    model_name: str = Field(default="twin_llm", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    registry_model: str = Field(default="twin-dpo", description="Registry name whose production version is served.")
    repository_dir: str = Field(min_length=1, description="Triton model repository written by the deploy step.")
    host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, lt=65536, description="0: a free port.")
    grpc_port: int = Field(default=8001, ge=0, lt=65536, description="0: a free port.")
    max_batch_size: int = Field(default=8, gt=0)
    max_input_len: int = Field(default=1024, gt=0)
    max_output_len: int = Field(default=256, gt=0)
    version_policy: Literal["latest", "specific"] = "latest"
    link_weights: bool = Field(default=True, description="Symlink registry weights into the repository.")
    keep_running: bool = Field(default=False, description="Leave a server the deploy step started running.")
    startup_timeout_s: float = Field(default=120.0, gt=0)
    health_prompt: str = "hello"
    health_max_tokens: int = Field(default=4, gt=0)
    cpu: CpuModelSettings = CpuModelSettings()
    trtllm: TrtllmSettings = TrtllmSettings()
    sagemaker: SageMakerEndpointSettings = SageMakerEndpointSettings()

    @property
    def max_seq_len(self) -> int:
        """Prompt plus completion tokens one request may hold."""
        return self.trtllm.max_seq_len or self.max_input_len + self.max_output_len

    @model_validator(mode="after")
    def _lengths(self) -> ServingSettings:
        if self.trtllm.max_seq_len is not None and self.trtllm.max_seq_len <= self.max_input_len:
            raise ValueError(f"trtllm.max_seq_len={self.trtllm.max_seq_len} must exceed max_input_len")
        sizes = self.cpu.dynamic_batching.preferred_batch_sizes
        if any(not 0 < s <= self.max_batch_size for s in sizes):
            raise ValueError(f"preferred_batch_sizes {sizes} must lie in 1..max_batch_size={self.max_batch_size}")
        if self.target == "sagemaker":
            from twin_core.cloud.sagemaker_endpoint import check_serving

            check_serving(self)
        return self
