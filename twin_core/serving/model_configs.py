"""Triton model configs rendered from ``serving`` and ``quantization`` settings onto the ``triton_models/`` templates.

CPU: ``twin_llm`` (+ ``twin_llm_stream``) on the Python backend. GPU: an ensemble named like the CPU model over
``preprocessing -> tensorrt_llm -> postprocessing``, or, with a draft model, the BLS over both engines.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from twin_core.serving import pbtxt
from twin_core.serving.pbtxt import Ident
from twin_core.serving.settings import DynamicBatchingSettings, QuantizationSettings, ServingSettings

TEMPLATES = Path(__file__).resolve().parents[2] / "triton_models"
DRAFT_INPUTS = ("draft_input_ids", "draft_logits", "draft_acceptance_threshold", "return_generation_logits")
HEADER = (
    "Rendered by twin_core.serving.model_configs from conf/serving and conf/quantization\n"
    "onto triton_models/{template}/config.pbtxt; change the config, not this file."
)
CPU_QUANTIZATION = {"none": "none", "cpu_int8_dynamic": "int8_dynamic"}


def template(name: str) -> dict[str, Any]:
    """The parsed ``triton_models/<name>/config.pbtxt``."""
    return pbtxt.parse((TEMPLATES / name / "config.pbtxt").read_text())


def _instances(count: int) -> list[dict[str, Any]]:
    return [{"kind": Ident("KIND_CPU"), "count": count}]


def _batching(db: DynamicBatchingSettings) -> dict[str, Any] | None:
    if not db.enabled:
        return None
    return {
        "preferred_batch_size": list(db.preferred_batch_sizes),
        "max_queue_delay_microseconds": db.max_queue_delay_us,
    }


def version_policy(serving: ServingSettings, version: int | None) -> dict[str, Any]:
    """``latest`` (one version) or ``specific`` (``version`` only) per ``serving.version_policy``."""
    if serving.version_policy == "specific" and version is not None:
        return {"specific": {"versions": [version]}}
    return {"latest": {"num_versions": 1}}


def cpu_model_config(
    serving: ServingSettings, quant: QuantizationSettings, *, stream: bool = False, version: int | None = None
) -> dict[str, Any]:
    """The Python-backend twin model: batching, instances, version policy, quantization and lengths."""
    if quant.method not in CPU_QUANTIZATION:
        raise ValueError(
            f"quantization.method={quant.method!r} is a TensorRT-LLM format; CPU serving takes "
            f"{sorted(CPU_QUANTIZATION)} (or serving=gpu with the engine step)"
        )
    cpu = serving.cpu
    msg = pbtxt.patch(
        template("twin_llm_stream" if stream else "twin_llm"),
        {
            "name": serving.model_name + ("_stream" if stream else ""),
            "max_batch_size": serving.max_batch_size,
            "dynamic_batching": _batching(cpu.dynamic_batching),
            "instance_group": _instances(cpu.instance_count),
            "version_policy": version_policy(serving, version),
        },
    )
    return pbtxt.with_params(
        msg,
        {
            "model_path": "",  # weights live in each version folder (<v>/model)
            "quantization": CPU_QUANTIZATION[quant.method],
            "torch_threads": cpu.torch_threads,
            "max_input_len": serving.max_input_len,
            "max_output_len": serving.max_output_len,
            "default_max_tokens": cpu.default_max_tokens,
        },
    )


def cpu_configs(serving: ServingSettings, quant: QuantizationSettings, version: int | None = None) -> dict[str, Any]:
    """Model name -> config of every CPU model the deploy step serves."""
    out = {serving.model_name: cpu_model_config(serving, quant, version=version)}
    if serving.cpu.stream_model:
        out[serving.model_name + "_stream"] = cpu_model_config(serving, quant, stream=True, version=version)
    return out


def tensorrt_llm_config(serving: ServingSettings, engine_dir: str, *, draft: bool = False) -> dict[str, Any]:
    """The ``tensorrt_llm`` (or ``tensorrt_llm_draft``) model: in-flight batching, KV cache, devices."""
    t, spec = serving.trtllm, serving.trtllm.speculative
    base = template("tensorrt_llm")
    inputs = [i for i in base["input"] if spec.enabled or i["name"] not in DRAFT_INPUTS]
    msg = pbtxt.patch(
        base,
        {
            "name": "tensorrt_llm_draft" if draft else "tensorrt_llm",
            "max_batch_size": serving.max_batch_size,
            "model_transaction_policy": {"decoupled": t.decoupled},
            "dynamic_batching": {
                "preferred_batch_size": [serving.max_batch_size],
                "max_queue_delay_microseconds": t.max_queue_delay_us,
            },
            "input": inputs,
        },
    )
    devices = ",".join(str(i) for i in range(t.world_size))
    return pbtxt.with_params(
        msg,
        {
            "gpt_model_type": t.batching_strategy,
            "gpt_model_path": engine_dir,
            "max_beam_width": t.max_beam_width,
            "batch_scheduler_policy": t.batch_scheduler_policy,
            "kv_cache_free_gpu_mem_fraction": (
                spec.draft_kv_cache_free_gpu_mem_fraction if draft else t.kv_cache_free_gpu_mem_fraction
            ),
            "max_tokens_in_paged_kv_cache": t.max_tokens_in_paged_kv_cache,
            "enable_kv_cache_reuse": t.enable_kv_cache_reuse or spec.enabled,  # draft-target reuses the KV cache
            "enable_chunked_context": t.enable_chunked_context,
            "exclude_input_in_output": True,
            "gpu_device_ids": (spec.draft_gpu_device_ids or "0") if draft else (t.gpu_device_ids or devices),
        },
    )


def _tokenizer_config(name: str, serving: ServingSettings, tokenizer_dir: str) -> dict[str, Any]:
    msg = pbtxt.patch(
        template(name),
        {"max_batch_size": serving.max_batch_size, "instance_group": _instances(serving.trtllm.pre_post_instances)},
    )
    extra = {"max_input_len": serving.max_input_len} if name == "preprocessing" else {}
    return pbtxt.with_params(msg, {"tokenizer_dir": tokenizer_dir, **extra})


def entry_config(serving: ServingSettings) -> dict[str, Any]:
    """The client-facing GPU model, named ``serving.model_name``: the ensemble, or the BLS with a draft model."""
    t = serving.trtllm
    if not t.speculative.enabled:
        return pbtxt.patch(template("ensemble"), {"name": serving.model_name, "max_batch_size": serving.max_batch_size})
    msg = pbtxt.patch(
        template("tensorrt_llm_bls"),
        {
            "name": serving.model_name,
            "max_batch_size": serving.max_batch_size,
            "model_transaction_policy": {"decoupled": t.decoupled},
            "instance_group": _instances(t.pre_post_instances),
        },
    )
    return pbtxt.with_params(
        msg, {"tensorrt_llm_model_name": "tensorrt_llm", "tensorrt_llm_draft_model_name": "tensorrt_llm_draft"}
    )


def gpu_configs(
    serving: ServingSettings, *, engine_dir: str, tokenizer_dir: str, draft_engine_dir: str | None = None
) -> dict[str, Any]:
    """Model name -> config of every model in the GPU repository."""
    out = {
        serving.model_name: entry_config(serving),
        "preprocessing": _tokenizer_config("preprocessing", serving, tokenizer_dir),
        "tensorrt_llm": tensorrt_llm_config(serving, engine_dir),
        "postprocessing": _tokenizer_config("postprocessing", serving, tokenizer_dir),
    }
    if serving.trtllm.speculative.enabled:
        out["tensorrt_llm_draft"] = tensorrt_llm_config(serving, draft_engine_dir or "", draft=True)
    return out


def template_of(name: str, config: dict[str, Any]) -> str:
    """Which template a rendered config came from."""
    if config.get("platform") == "ensemble":
        return "ensemble"
    if config.get("backend") == "tensorrtllm":
        return "tensorrt_llm"
    if "tensorrt_llm_draft_model_name" in pbtxt.params(config):
        return "tensorrt_llm_bls"
    return name if (TEMPLATES / name).is_dir() else ("twin_llm_stream" if name.endswith("_stream") else "twin_llm")


def write_config(repository: Path, name: str, config: dict[str, Any]) -> Path:
    """Write ``<repository>/<name>/config.pbtxt`` (atomically), with a header naming its template."""
    folder = Path(repository) / name
    folder.mkdir(parents=True, exist_ok=True)
    path, tmp = folder / "config.pbtxt", folder / ".config.pbtxt.tmp"
    tmp.write_text(pbtxt.dump(config, HEADER.format(template=template_of(name, config))))
    tmp.replace(path)
    return path


def write_gpu_repository(configs: dict[str, Any], dst: Path, bls_model_py: str | None = None) -> list[str]:
    """Write every GPU model (configs, ``1/`` folders, Python code); returns files still missing (BLS code)."""
    missing = []
    for name, config in configs.items():
        write_config(dst, name, config)
        version = Path(dst) / name / "1"
        version.mkdir(exist_ok=True)
        kind = template_of(name, config)
        if kind in ("preprocessing", "postprocessing"):
            shutil.copy2(TEMPLATES / kind / "1" / "model.py", version / "model.py")
        elif kind == "tensorrt_llm_bls":
            if bls_model_py and Path(bls_model_py).is_file():  # its lib/ sits beside it
                shutil.copytree(Path(bls_model_py).parent, version, dirs_exist_ok=True)
            else:
                missing.append(f"{name}/1/model.py (tensorrtllm_backend's BLS model: serving.trtllm.bls_model_py)")
    return missing
