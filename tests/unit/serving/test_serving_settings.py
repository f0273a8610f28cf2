"""Cross-field rules of the quantization and serving settings, one rule per test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from twin_core.config.errors import ConfigError


def test_kv_cache_quantization_is_a_tensorrt_llm_option(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="kv_cache='int8' is a TensorRT-LLM option"):
        make_settings("quantization=cpu_int8_dynamic", "quantization.kv_cache=int8")


def test_inflight_batching_needs_a_paged_kv_cache(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="inflight_fused_batching needs kv_cache_type='paged'"):
        make_settings("serving=gpu", "serving.trtllm.kv_cache_type=continuous")


def test_speculative_decoding_needs_a_draft_model(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="needs draft_model"):
        make_settings("serving=gpu_speculative", "serving.trtllm.speculative.draft_model=null")


def test_draft_tokens_cannot_exceed_the_engine_maximum(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="num_draft_tokens=9 exceeds max_draft_len=8"):
        make_settings("serving=gpu_speculative", "serving.trtllm.speculative.num_draft_tokens=9")


def test_speculative_decoding_is_not_decoupled(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="needs decoupled=false"):
        make_settings("serving=gpu_speculative", "serving.trtllm.decoupled=true")


def test_max_seq_len_must_exceed_the_input(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="max_seq_len=512 must exceed max_input_len"):
        make_settings("serving=gpu", "serving.trtllm.max_seq_len=512", "serving.max_input_len=512")


def test_preferred_batch_sizes_fit_the_max_batch_size(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match=r"preferred_batch_sizes \[2, 16\] must lie in 1..max_batch_size=8"):
        make_settings("serving.cpu.dynamic_batching.preferred_batch_sizes=[2,16]")


def test_kv_fraction_is_a_fraction(make_settings: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match=r"serving.trtllm.kv_cache_free_gpu_mem_fraction: 1.5 is invalid"):
        make_settings("serving=gpu", "serving.trtllm.kv_cache_free_gpu_mem_fraction=1.5")


def test_defaults_compose_the_repository_under_data_dir(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings()
    assert cfg.serving.repository_dir == f"{cfg.paths.data_dir}/triton_repo"
    assert cfg.serving.registry_model == f"{cfg.model.name}-dpo" and cfg.serving.max_seq_len == 1280
