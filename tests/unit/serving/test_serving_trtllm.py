"""TensorRT-LLM commands rendered from conf/quantization and conf/serving, checked flag by flag."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from twin_core.serving.trtllm import (
    build_command,
    checkpoint_command,
    flags,
    launch_command,
    parse_flags,
    plan,
    tensorrt_llm_available,
)

QUANTIZE, CONVERT = "/app/tensorrt_llm/examples/quantization/quantize.py", "convert_checkpoint.py"
COMMON = {"model_dir": "/m", "output_dir": "/o/checkpoint", "dtype": "float16", "tp_size": "1", "pp_size": "1"}
# conf/quantization/<file> -> (script, flags expected, flags that must be absent)
EXPECTED: dict[str, tuple[str, dict[str, Any], set[str]]] = {
    "none": (CONVERT, {}, {"qformat", "kv_cache_dtype", "calib_size", "int8_kv_cache"}),
    "fp8": (QUANTIZE, {"qformat": "fp8", "kv_cache_dtype": "fp8", "calib_size": "512"}, {"awq_block_size"}),
    "int4_awq": (
        QUANTIZE,
        {"qformat": "int4_awq", "kv_cache_dtype": "fp8", "calib_size": "512", "awq_block_size": "128"},
        set(),
    ),
    "int8_sq": (QUANTIZE, {"qformat": "int8_sq", "kv_cache_dtype": "int8", "calib_size": "512"}, {"awq_block_size"}),
    "int8_wo": (QUANTIZE, {"qformat": "int8_wo"}, {"kv_cache_dtype", "calib_size", "awq_block_size"}),
}


@pytest.fixture
def gpu(make_settings: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *o: make_settings("serving=gpu", *o)


def ckpt(cfg: Any) -> tuple[list[str], dict[str, Any]]:
    cmd = checkpoint_command(cfg.quantization, cfg.serving, "/m", "/o/checkpoint")
    return cmd.argv, parse_flags(cmd.argv)


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_checkpoint_command_of_every_quantization_option(gpu: Callable[..., Any], method: str) -> None:
    argv, got = ckpt(gpu(f"quantization={method}"))
    script, expected, absent = EXPECTED[method]
    assert argv[0] == "python3" and argv[1].endswith(script)
    assert {k: got[k] for k in COMMON} == COMMON
    assert {k: got.get(k) for k in expected} == expected
    assert not absent & set(got), absent & set(got)


@pytest.mark.parametrize(
    ("overrides", "script", "expected", "absent"),
    [
        (["quantization.kv_cache=int8"], CONVERT, {"int8_kv_cache": True}, {"kv_cache_dtype", "qformat"}),
        (
            ["quantization.kv_cache=fp8"],
            QUANTIZE,
            {"qformat": "full_prec", "kv_cache_dtype": "fp8", "calib_size": "512"},
            set(),
        ),
        (
            ["quantization=int8_wo", "quantization.kv_cache=int8"],
            QUANTIZE,
            {"kv_cache_dtype": "int8", "calib_size": "512"},
            set(),
        ),
        (["quantization=fp8", "quantization.kv_cache=none"], QUANTIZE, {"qformat": "fp8"}, {"kv_cache_dtype"}),
        (["quantization=int8_sq", "quantization.kv_cache=fp8"], QUANTIZE, {"kv_cache_dtype": "fp8"}, set()),
    ],
)
def test_kv_cache_quantization_options(
    gpu: Callable[..., Any], overrides: list[str], script: str, expected: dict[str, Any], absent: set[str]
) -> None:
    argv, got = ckpt(gpu(*overrides))
    assert argv[1].endswith(script)
    assert {k: got.get(k) for k in expected} == expected and not absent & set(got)


def test_calibration_and_extra_args_come_from_config(gpu: Callable[..., Any]) -> None:
    cfg = gpu(
        "quantization=int4_awq",
        "quantization.calib_size=64",
        "quantization.awq_block_size=64",
        "quantization.calib_dataset=/data/calib.json",
        "+quantization.args.batch_size=4",
        "+quantization.args.tp_size=2",
    )
    _, got = ckpt(cfg)
    assert (got["calib_size"], got["awq_block_size"], got["calib_dataset"]) == ("64", "64", "/data/calib.json")
    assert got["batch_size"] == "4" and got["tp_size"] == "2"  # args apply last: they may override


def test_cpu_quantization_has_no_tensorrt_llm_recipe(gpu: Callable[..., Any]) -> None:
    cfg = gpu("quantization=cpu_int8_dynamic")
    with pytest.raises(ValueError, match=r"cpu_int8_dynamic.*no TensorRT-LLM recipe"):
        checkpoint_command(cfg.quantization, cfg.serving, "/m", "/o")


def test_build_command_carries_runtime_options(gpu: Callable[..., Any]) -> None:
    cfg = gpu("serving.max_batch_size=32", "serving.max_input_len=1000", "serving.max_output_len=24")
    cmd = build_command(cfg.quantization, cfg.serving, "/o/checkpoint", "/o/engine")
    got = parse_flags(cmd.argv)
    assert cmd.argv[0] == "trtllm-build" and cmd.creates == "/o/engine"
    assert got == {
        "checkpoint_dir": "/o/checkpoint",
        "output_dir": "/o/engine",
        "max_batch_size": "32",
        "max_input_len": "1000",
        "max_seq_len": "1024",  # input + output when max_seq_len is null
        "max_num_tokens": "8192",
        "max_beam_width": "1",
        "kv_cache_type": "paged",
        "use_paged_context_fmha": "enable",
        "remove_input_padding": "enable",
        "gemm_plugin": "auto",
        "workers": "1",
    }


def test_parallel_sizes_reach_checkpoint_build_and_launch(gpu: Callable[..., Any]) -> None:
    cfg = gpu("serving.trtllm.tp_size=4", "serving.trtllm.pp_size=2", "serving.trtllm.max_seq_len=4096")
    assert cfg.serving.trtllm.world_size == 8
    _, got = ckpt(cfg)
    assert (got["tp_size"], got["pp_size"]) == ("4", "2")
    build = parse_flags(build_command(cfg.quantization, cfg.serving, "/c", "/e").argv)
    assert build["workers"] == "8" and build["max_seq_len"] == "4096"
    assert launch_command(cfg.serving, "/repo").env == {"TRTLLM_ORCHESTRATOR": "1"}
    assert launch_command(gpu().serving, "/repo").env == {}


def test_continuous_kv_cache_drops_paged_context_fmha(gpu: Callable[..., Any]) -> None:
    cfg = gpu("serving.trtllm.batching_strategy=V1", "serving.trtllm.kv_cache_type=continuous")
    got = parse_flags(build_command(cfg.quantization, cfg.serving, "/c", "/e").argv)
    assert got["kv_cache_type"] == "continuous" and "use_paged_context_fmha" not in got


def test_fp8_kv_cache_with_fp8_weights_enables_fp8_context_fmha(gpu: Callable[..., Any]) -> None:
    fp8 = gpu("quantization=fp8")
    assert (
        parse_flags(build_command(fp8.quantization, fp8.serving, "/c", "/e").argv)["use_fp8_context_fmha"] == "enable"
    )
    sq = gpu("quantization=int8_sq")
    assert "use_fp8_context_fmha" not in parse_flags(build_command(sq.quantization, sq.serving, "/c", "/e").argv)


def test_build_args_are_applied_last(gpu: Callable[..., Any]) -> None:
    cfg = gpu(
        "+serving.trtllm.build_args.multiple_profiles=enable",
        "+serving.trtllm.build_args.gemm_plugin=float16",
        "+serving.trtllm.build_args.remove_input_padding=null",
    )
    got = parse_flags(build_command(cfg.quantization, cfg.serving, "/c", "/e").argv)
    assert got["multiple_profiles"] == "enable" and got["gemm_plugin"] == "float16"
    assert "remove_input_padding" not in got


def test_speculative_decoding_plan_builds_a_draft_engine(make_settings: Callable[..., Any]) -> None:
    cfg = make_settings(
        "serving=gpu_speculative",
        "quantization=fp8",
        "serving.trtllm.speculative.use_draft_logits=true",
        "serving.trtllm.tp_size=2",
        "serving.trtllm.speculative.draft_model=/draft",
    )
    cmds = {c.name: c for c in plan(cfg.quantization, cfg.serving, model_dir="/m", out="/o", repository="/o/repo")}
    assert list(cmds) == ["checkpoint", "build", "draft_checkpoint", "draft_build", "serve"]
    target = parse_flags(cmds["build"].argv)
    assert (target["speculative_decoding_mode"], target["max_draft_len"]) == ("draft_tokens_external", "8")
    assert target["gather_generation_logits"] is True and target["workers"] == "2"
    draft_ckpt = parse_flags(cmds["draft_checkpoint"].argv)
    assert cmds["draft_checkpoint"].argv[1].endswith(CONVERT)  # the draft model is converted plain, on one GPU
    assert (draft_ckpt["model_dir"], draft_ckpt["tp_size"], draft_ckpt["output_dir"]) == (
        "/draft",
        "1",
        "/o/draft_checkpoint",
    )
    draft = parse_flags(cmds["draft_build"].argv)
    assert draft["checkpoint_dir"] == "/o/draft_checkpoint" and draft["output_dir"] == "/o/draft_engine"
    assert "speculative_decoding_mode" not in draft and "max_draft_len" not in draft and draft["workers"] == "1"
    assert draft["gather_generation_logits"] is True
    assert cmds["serve"].env == {"TRTLLM_ORCHESTRATOR": "1"}
    assert "--model-repository=/o/repo" in cmds["serve"].argv


def test_plan_without_draft_model_has_no_draft_steps(gpu: Callable[..., Any]) -> None:
    cfg = gpu()
    names = [c.name for c in plan(cfg.quantization, cfg.serving, model_dir="/m", out="/o", repository="/r")]
    assert names == ["checkpoint", "build", "serve"]


def test_flags_round_trip() -> None:
    argv = flags({"a": 1, "b": True, "c": False, "d": None, "e": "x"})
    assert argv == ["--a", "1", "--b", "--e", "x"] and parse_flags(argv) == {"a": "1", "b": True, "e": "x"}


def test_tensorrt_llm_is_not_installed_here() -> None:
    assert tensorrt_llm_available() is False
