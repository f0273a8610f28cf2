"""Triton configs rendered from settings: CPU twin_llm, and the GPU ensemble / tensorrt_llm / pre / post / BLS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.serving import pbtxt
from twin_core.serving.model_configs import (
    cpu_configs,
    cpu_model_config,
    gpu_configs,
    template,
    write_config,
    write_gpu_repository,
)

ENGINE, DRAFT, TOK = "/e/engine", "/e/draft_engine", "/models/twin/v3"


def valid(config: dict[str, Any]) -> Any:
    """Triton's own ModelConfig schema accepts the dumped text; the text parses back to the same config."""
    text = pbtxt.dump(config)
    assert pbtxt.parse(text) == config
    proto = pbtxt.validate(text)
    assert proto is not None
    return proto


def signature(config: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """External tensors as a client sees them: name -> (type, dims, optional)."""
    return {
        t["name"]: (kind, t["data_type"], str(t["dims"]), str(t.get("optional", False)))
        for kind in ("input", "output")
        for t in config[kind]
    }


@pytest.fixture
def gpu(make_settings: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    def render(*overrides: str) -> dict[str, Any]:
        cfg = make_settings("serving=gpu", *overrides)
        draft = DRAFT if cfg.serving.trtllm.speculative.enabled else None
        return gpu_configs(cfg.serving, engine_dir=ENGINE, tokenizer_dir=TOK, draft_engine_dir=draft)

    return render


def test_cpu_model_config_follows_settings(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings(
        "serving.max_batch_size=16",
        "serving.cpu.instance_count=3",
        "serving.cpu.torch_threads=2",
        "serving.cpu.dynamic_batching.max_queue_delay_us=500",
        "serving.cpu.dynamic_batching.preferred_batch_sizes=[4,8]",
        "serving.max_input_len=300",
        "serving.max_output_len=40",
        "serving.cpu.default_max_tokens=20",
    )
    config = cpu_model_config(cfg.serving, cfg.quantization)
    proto = valid(config)
    assert (proto.name, proto.backend, proto.max_batch_size) == ("twin_llm", "python", 16)
    assert (proto.instance_group[0].count, proto.instance_group[0].kind) == (3, proto.instance_group[0].KIND_CPU)
    assert proto.dynamic_batching.max_queue_delay_microseconds == 500
    assert list(proto.dynamic_batching.preferred_batch_size) == [4, 8]
    assert proto.version_policy.latest.num_versions == 1
    assert not proto.model_transaction_policy.decoupled
    assert pbtxt.params(config) == {
        "model_path": "",
        "quantization": "none",
        "torch_threads": "2",
        "max_input_len": "300",
        "max_output_len": "40",
        "default_max_tokens": "20",
    }


def test_cpu_dynamic_batching_off_and_explicit_version(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("serving.cpu.dynamic_batching.enabled=false", "serving.version_policy=specific")
    proto = valid(cpu_model_config(cfg.serving, cfg.quantization, version=7))
    assert not proto.HasField("dynamic_batching")
    assert list(proto.version_policy.specific.versions) == [7]


def test_cpu_int8_dynamic_reaches_the_model_parameters(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("quantization=cpu_int8_dynamic")
    configs = cpu_configs(cfg.serving, cfg.quantization)
    assert sorted(configs) == ["twin_llm", "twin_llm_stream"]
    assert {pbtxt.params(c)["quantization"] for c in configs.values()} == {"int8_dynamic"}
    stream = valid(configs["twin_llm_stream"])
    assert stream.model_transaction_policy.decoupled and stream.name == "twin_llm_stream"


def test_stream_model_can_be_left_out(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("serving.cpu.stream_model=false", "serving.model_name=me")
    assert list(cpu_configs(cfg.serving, cfg.quantization)) == ["me"]


def test_cpu_serving_refuses_a_gpu_quantization_format(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings("quantization=int4_awq")
    with pytest.raises(ValueError, match="'int4_awq' is a TensorRT-LLM format"):
        cpu_model_config(cfg.serving, cfg.quantization)


def test_gpu_repository_models_and_client_contract(gpu: Callable[..., dict[str, Any]]) -> None:
    configs = gpu()
    assert sorted(configs) == ["postprocessing", "preprocessing", "tensorrt_llm", "twin_llm"]
    for config in configs.values():
        valid(config)
    entry = configs["twin_llm"]
    assert entry["platform"] == "ensemble" and entry["max_batch_size"] == 64
    assert signature(entry) == signature(template("twin_llm"))  # a client cannot tell which backend serves it


def test_ensemble_steps_form_a_complete_graph(gpu: Callable[..., dict[str, Any]]) -> None:
    configs = gpu()
    entry = configs["twin_llm"]
    available = {t["name"] for t in entry["input"]}
    for step in entry["ensemble_scheduling"]["step"]:
        model = configs[step["model_name"]]
        ins, outs = pbtxt.tensors(model, "input"), pbtxt.tensors(model, "output")
        mapped = {m["key"]: m["value"] for m in step["input_map"]}
        assert set(mapped) <= set(ins), set(mapped) - set(ins)
        required = {n for n, t in ins.items() if not t.get("optional")}
        assert required <= set(mapped), f"{step['model_name']} misses {required - set(mapped)}"
        assert set(mapped.values()) <= available, set(mapped.values()) - available  # produced by an earlier step
        assert {m["key"] for m in step["output_map"]} <= set(outs)
        available |= {m["value"] for m in step["output_map"]}
    assert "text_output" in available


def test_tensorrt_llm_config_inflight_batching_and_kv_cache(gpu: Callable[..., dict[str, Any]]) -> None:
    config = gpu(
        "serving.trtllm.kv_cache_free_gpu_mem_fraction=0.85",
        "serving.trtllm.max_tokens_in_paged_kv_cache=4096",
        "serving.trtllm.batch_scheduler_policy=max_utilization",
        "serving.trtllm.max_queue_delay_us=100",
    )["tensorrt_llm"]
    proto = valid(config)
    assert (proto.backend, proto.max_batch_size) == ("tensorrtllm", 64)
    assert proto.model_transaction_policy.decoupled
    assert list(proto.dynamic_batching.preferred_batch_size) == [64]
    assert proto.dynamic_batching.max_queue_delay_microseconds == 100
    assert pbtxt.params(config) == {
        "gpt_model_type": "inflight_fused_batching",
        "gpt_model_path": ENGINE,
        "max_beam_width": "1",
        "batch_scheduler_policy": "max_utilization",
        "kv_cache_free_gpu_mem_fraction": "0.85",
        "enable_kv_cache_reuse": "true",
        "enable_chunked_context": "true",
        "exclude_input_in_output": "true",
        "gpu_device_ids": "0",
        "max_tokens_in_paged_kv_cache": "4096",
    }
    assert not {"draft_input_ids", "draft_logits"} & set(pbtxt.tensors(config))


def test_tensorrt_llm_config_parallel_devices_and_v1_batching(gpu: Callable[..., dict[str, Any]]) -> None:
    config = gpu(
        "serving.trtllm.tp_size=2",
        "serving.trtllm.pp_size=2",
        "serving.trtllm.decoupled=false",
        "serving.trtllm.batching_strategy=V1",
        "serving.trtllm.enable_kv_cache_reuse=false",
    )["tensorrt_llm"]
    p = pbtxt.params(config)
    assert (p["gpu_device_ids"], p["gpt_model_type"], p["enable_kv_cache_reuse"]) == ("0,1,2,3", "V1", "false")
    assert "max_tokens_in_paged_kv_cache" not in p
    assert valid(config).model_transaction_policy.decoupled is False


def test_pre_and_postprocessing_configs(gpu: Callable[..., dict[str, Any]]) -> None:
    configs = gpu("serving.trtllm.pre_post_instances=3")
    pre, post = valid(configs["preprocessing"]), valid(configs["postprocessing"])
    assert [(m.backend, m.max_batch_size, m.instance_group[0].count) for m in (pre, post)] == [("python", 64, 3)] * 2
    assert pbtxt.params(configs["preprocessing"]) == {
        "tokenizer_dir": TOK,
        "add_special_tokens": "true",
        "max_input_len": "2048",
    }
    assert pbtxt.params(configs["postprocessing"]) == {"tokenizer_dir": TOK, "skip_special_tokens": "true"}


def test_speculative_decoding_configs(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings(
        "serving=gpu_speculative",
        "serving.trtllm.speculative.draft_gpu_device_ids=1",
        "serving.trtllm.gpu_device_ids=2",
    )
    configs = gpu_configs(cfg.serving, engine_dir=ENGINE, tokenizer_dir=TOK, draft_engine_dir=DRAFT)
    assert sorted(configs) == ["postprocessing", "preprocessing", "tensorrt_llm", "tensorrt_llm_draft", "twin_llm"]
    bls = configs["twin_llm"]
    assert valid(bls).backend == "python" and not valid(bls).model_transaction_policy.decoupled
    assert pbtxt.params(bls) == {
        "tensorrt_llm_model_name": "tensorrt_llm",
        "tensorrt_llm_draft_model_name": "tensorrt_llm_draft",
        "accumulate_tokens": "false",
    }
    client = signature(template("twin_llm"))
    assert {k: signature(bls)[k] for k in client} == client  # same tensors, plus draft controls
    assert {"num_draft_tokens", "use_draft_logits"} <= set(pbtxt.tensors(bls))
    draft, target = pbtxt.params(configs["tensorrt_llm_draft"]), pbtxt.params(configs["tensorrt_llm"])
    assert valid(configs["tensorrt_llm_draft"]).name == "tensorrt_llm_draft"
    assert (draft["gpt_model_path"], draft["gpu_device_ids"], draft["kv_cache_free_gpu_mem_fraction"]) == (
        DRAFT,
        "1",
        "0.2",
    )
    assert (target["gpt_model_path"], target["gpu_device_ids"], target["kv_cache_free_gpu_mem_fraction"]) == (
        ENGINE,
        "2",
        "0.6",
    )
    assert draft["enable_kv_cache_reuse"] == target["enable_kv_cache_reuse"] == "true"
    assert {"draft_input_ids", "draft_logits"} <= set(pbtxt.tensors(configs["tensorrt_llm"]))


def test_write_gpu_repository_copies_code_and_reports_missing_bls(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    cfg = make_settings("serving=gpu_speculative", f"serving.trtllm.bls_model_py={tmp_path / 'none.py'}")
    configs = gpu_configs(cfg.serving, engine_dir=ENGINE, tokenizer_dir=TOK, draft_engine_dir=DRAFT)
    missing = write_gpu_repository(configs, tmp_path / "repo")
    assert missing == ["twin_llm/1/model.py (tensorrtllm_backend's BLS model: serving.trtllm.bls_model_py)"]
    for name in ("preprocessing", "postprocessing"):
        assert "trtllm_text import" in (tmp_path / "repo" / name / "1" / "model.py").read_text()
    assert (tmp_path / "repo/tensorrt_llm/1").is_dir() and (tmp_path / "repo/tensorrt_llm_draft/config.pbtxt").is_file()
    bls = tmp_path / "backend" / "tensorrt_llm_bls" / "1"
    (bls / "lib").mkdir(parents=True)
    (bls / "model.py").write_text("# stock BLS\n")
    (bls / "lib" / "decode.py").write_text("")
    assert write_gpu_repository(configs, tmp_path / "repo", str(bls / "model.py")) == []
    assert (tmp_path / "repo/twin_llm/1/lib/decode.py").is_file()


def test_written_config_names_its_template(make_settings: Callable[..., Any], tmp_path: Path) -> None:
    cfg = make_settings()
    path = write_config(tmp_path, "twin_llm_stream", cpu_model_config(cfg.serving, cfg.quantization, stream=True))
    text = path.read_text()
    assert "triton_models/twin_llm_stream/config.pbtxt" in text.splitlines()[1]
    assert pbtxt.validate(text).name == "twin_llm_stream"


@pytest.mark.parametrize("serving", ["gpu", "gpu_speculative"])
@pytest.mark.parametrize("method", ["none", "fp8", "int4_awq", "int8_sq", "int8_wo"])
def test_every_quantization_and_serving_option_renders_a_valid_gpu_plan(
    make_settings: Callable[..., Any], serving: str, method: str
) -> None:
    from twin_core.serving.trtllm import parse_flags, plan

    cfg = make_settings(f"serving={serving}", f"quantization={method}")
    cmds = plan(cfg.quantization, cfg.serving, model_dir="/m", out="/o", repository="/o/repo")
    engines = {parse_flags(c.argv)["output_dir"] for c in cmds if c.name.endswith("build")}
    draft = "/o/draft_engine" if cfg.serving.trtllm.speculative.enabled else None
    configs = gpu_configs(cfg.serving, engine_dir="/o/engine", tokenizer_dir="/m", draft_engine_dir=draft)
    served = {pbtxt.params(c)["gpt_model_path"] for c in configs.values() if c.get("backend") == "tensorrtllm"}
    assert served == engines  # Triton loads exactly the engines the plan builds
    for config in configs.values():
        valid(config)
