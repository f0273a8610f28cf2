"""TensorRT-LLM commands rendered from settings: checkpoint conversion or ModelOpt quantization, ``trtllm-build``.

Every command is an argv list (no shell); flags come from the recipe table below, the settings, and the config's
``quantization.args`` / ``serving.trtllm.build_args`` (applied last, so any flag can be added or dropped).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from twin_core.serving.settings import QuantizationSettings, ServingSettings

# method -> how its TensorRT-LLM checkpoint is made: the tool, ModelOpt's --qformat, and whether it calibrates.
RECIPES: dict[str, dict[str, Any]] = {
    "none": {"tool": "convert", "qformat": "full_prec", "calibrate": False},
    "fp8": {"tool": "quantize", "qformat": "fp8", "calibrate": True},
    "int4_awq": {"tool": "quantize", "qformat": "int4_awq", "calibrate": True, "awq": True},
    "int8_sq": {"tool": "quantize", "qformat": "int8_sq", "calibrate": True},
    "int8_wo": {"tool": "quantize", "qformat": "int8_wo", "calibrate": False},
}
DRAFT_MODE = "draft_tokens_external"


@dataclass(frozen=True)
class Command:
    """One step of the plan: its argv, extra environment, and the folder it creates."""

    name: str
    argv: list[str]
    creates: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the plan manifest."""
        return asdict(self)


def flags(values: Mapping[str, Any]) -> list[str]:
    """``--key value`` pairs; ``True`` is a bare ``--key``, ``None``/``False`` drop the flag."""
    out: list[str] = []
    for key, value in values.items():
        if value is None or value is False:
            continue
        out += [f"--{key}"] if value is True else [f"--{key}", str(value)]
    return out


def parse_flags(argv: list[str]) -> dict[str, str | bool]:
    """The inverse of :func:`flags` (for checks and tests): ``--k v`` -> ``{k: v}``, bare ``--k`` -> True."""
    out: dict[str, str | bool] = {}
    i = 0
    while i < len(argv):
        if argv[i].startswith("--"):
            key = argv[i][2:]
            has_value = i + 1 < len(argv) and not argv[i + 1].startswith("--")
            out[key] = argv[i + 1] if has_value else True
            i += 2 if has_value else 1
        else:
            i += 1
    return out


def uses_modelopt(quant: QuantizationSettings) -> bool:
    """Weight quantization or an fp8 KV cache go through ModelOpt's quantize.py; the rest through convert."""
    return RECIPES[quant.method]["tool"] == "quantize" or quant.kv_cache == "fp8"


def checkpoint_command(
    quant: QuantizationSettings, serving: ServingSettings, model_dir: str, out_dir: str, *, draft: bool = False
) -> Command:
    """HF model -> TensorRT-LLM checkpoint, quantised per ``quant`` (the draft model: plain, one GPU)."""
    if quant.method not in RECIPES:
        raise ValueError(f"quantization.method={quant.method!r} has no TensorRT-LLM recipe; known: {sorted(RECIPES)}")
    t = serving.trtllm
    common = {
        "model_dir": model_dir,
        "output_dir": out_dir,
        "dtype": quant.dtype,
        "tp_size": 1 if draft else t.tp_size,
        "pp_size": 1 if draft else t.pp_size,
    }
    if draft:
        return Command("draft_checkpoint", [t.python, t.convert_script, *flags(common)], out_dir)
    recipe = RECIPES[quant.method]
    if uses_modelopt(quant):
        calibrate = recipe["calibrate"] or quant.kv_cache != "none"
        values = {
            **common,
            "qformat": recipe["qformat"],
            "kv_cache_dtype": None if quant.kv_cache == "none" else quant.kv_cache,
            "calib_size": quant.calib_size if calibrate else None,
            "calib_dataset": quant.calib_dataset if calibrate else None,
            "awq_block_size": quant.awq_block_size if recipe.get("awq") else None,
        }
        script = t.quantize_script
    else:
        values = {**common, "int8_kv_cache": quant.kv_cache == "int8"}
        script = t.convert_script
    return Command("checkpoint", [t.python, script, *flags({**values, **quant.args})], out_dir)


def build_command(
    quant: QuantizationSettings, serving: ServingSettings, checkpoint_dir: str, engine_dir: str, *, draft: bool = False
) -> Command:
    """``trtllm-build`` with the runtime limits, paged KV cache and (target engine) speculative decoding."""
    t, spec = serving.trtllm, serving.trtllm.speculative
    paged = t.kv_cache_type == "paged"
    values: dict[str, Any] = {
        "checkpoint_dir": checkpoint_dir,
        "output_dir": engine_dir,
        "max_batch_size": serving.max_batch_size,
        "max_input_len": serving.max_input_len,
        "max_seq_len": serving.max_seq_len,
        "max_num_tokens": t.max_num_tokens,
        "max_beam_width": t.max_beam_width,
        "kv_cache_type": t.kv_cache_type,
        "use_paged_context_fmha": ("enable" if t.use_paged_context_fmha else "disable") if paged else None,
        "remove_input_padding": "enable",
        "gemm_plugin": t.gemm_plugin,
        "workers": 1 if draft else t.world_size,
    }
    if not draft and quant.method == "fp8" and quant.kv_cache == "fp8" and paged and t.use_paged_context_fmha:
        values["use_fp8_context_fmha"] = "enable"
    if spec.enabled and not draft:
        values.update(speculative_decoding_mode=DRAFT_MODE, max_draft_len=spec.max_draft_len)
    if spec.enabled and spec.use_draft_logits:
        values["gather_generation_logits"] = True  # both engines hand logits to the acceptance step
    if not draft:
        values.update(t.build_args)
    return Command("draft_build" if draft else "build", ["trtllm-build", *flags(values)], engine_dir)


def launch_command(serving: ServingSettings, repository: str) -> Command:
    """``tritonserver`` on the GPU repository; orchestrator mode when an engine spans GPUs or two engines run."""
    t = serving.trtllm
    argv = [
        "tritonserver",
        f"--model-repository={repository}",
        f"--http-port={serving.http_port}",
        f"--grpc-port={serving.grpc_port}",
        "--disable-auto-complete-config",
    ]
    env = {"TRTLLM_ORCHESTRATOR": "1"} if t.world_size > 1 or t.speculative.enabled else {}
    return Command("serve", argv, "", env)


def plan(
    quant: QuantizationSettings, serving: ServingSettings, *, model_dir: str, out: str, repository: str
) -> list[Command]:
    """Every command, in order: checkpoint, build, (draft checkpoint, draft build), serve."""
    cmds = [
        checkpoint_command(quant, serving, model_dir, f"{out}/checkpoint"),
        build_command(quant, serving, f"{out}/checkpoint", f"{out}/engine"),
    ]
    spec = serving.trtllm.speculative
    if spec.enabled:
        draft_model = str(spec.draft_model)
        cmds += [
            checkpoint_command(quant, serving, draft_model, f"{out}/draft_checkpoint", draft=True),
            build_command(quant, serving, f"{out}/draft_checkpoint", f"{out}/draft_engine", draft=True),
        ]
    return [*cmds, launch_command(serving, repository)]


def tensorrt_llm_available() -> bool:
    """Whether this machine can run the plan: the ``tensorrt_llm`` module and ``trtllm-build`` on PATH."""
    return importlib.util.find_spec("tensorrt_llm") is not None and shutil.which("trtllm-build") is not None
