"""Axolotl's own config validation, offline, as a standalone script for the Axolotl venv (stdlib + axolotl only).

Usage: ``<axolotl venv>/bin/python axolotl_validate.py [--gpu] a.yaml [--cpu] b.yaml ...``; a flag applies to the files
after it. One JSON line per file; exit 1 on errors.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import sys
from typing import Any

CPU_CAPABILITIES = {"bf16": False, "fp8": False, "tf32": False, "n_gpu": 1, "compute_capability": None}
GPU_CAPABILITIES = {"bf16": True, "fp8": True, "tf32": True, "n_gpu": 1, "compute_capability": "sm_90"}


def unknown_keys(cfg: dict[str, Any]) -> list[str]:
    """Top-level keys the Axolotl schema does not know (typos pass Axolotl's own validation silently)."""
    from axolotl.utils.schemas.config import AxolotlInputConfig

    known: set[str] = set()
    for name, field in AxolotlInputConfig.model_fields.items():
        known.add(name)
        for alias in (field.alias, field.validation_alias):
            if isinstance(alias, str):
                known.add(alias)
    return sorted(set(cfg) - known)


def _resolves(module: str, attr: str) -> bool:
    try:
        return hasattr(importlib.import_module(module), attr)
    except ImportError:
        return False


def dataset_type_errors(cfg: dict[str, Any]) -> list[str]:
    """Dataset ``type`` names that match no Axolotl transform (SFT: ``prompt_strategies``; DPO: ``.dpo``)."""
    errors = []
    for i, ds in enumerate(cfg.get("datasets") or []):
        kind = (ds or {}).get("type")
        if not isinstance(kind, str):
            continue
        parts = kind.split(".")
        if cfg.get("rl"):
            mod, fn = (parts[:-1], parts[-1]) if len(parts) > 1 else (parts, "default")
            ok = _resolves("axolotl.prompt_strategies.dpo." + ".".join(mod), fn)
        else:
            from axolotl.utils.data.wrappers import DATASET_HANDLERS

            base = "axolotl.prompt_strategies."
            ok = (
                kind.split(":")[0] in DATASET_HANDLERS
                or kind.startswith(("messages", "bradley_terry", "stepwise_supervised"))
                or _resolves(base + kind, "load")
                or (len(parts) > 1 and _resolves(base + ".".join(parts[:-1]), parts[-1]))
            )
        if not ok:
            errors.append(f"datasets[{i}].type: unknown {'preference' if cfg.get('rl') else 'SFT'} format {kind!r}")
    return errors


def validate(cfg: dict[str, Any], *, gpu: bool = False) -> list[str]:
    """All errors for one Axolotl config dict; empty when Axolotl would accept it."""
    import torch
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault

    errors = [f"{k}: unknown Axolotl key" for k in unknown_keys(cfg)]
    env = {"torch_version": torch.__version__.split("+", maxsplit=1)[0]}
    caps = GPU_CAPABILITIES if gpu else CPU_CAPABILITIES
    try:
        validate_config(DictDefault(copy.deepcopy(cfg)), capabilities=dict(caps), env_capabilities=env)
    except Exception as exc:  # pydantic ValidationError or Axolotl's ValueError
        errors.append(f"{type(exc).__name__}: {exc}")
    return errors + dataset_type_errors(cfg)


def main(argv: list[str]) -> int:
    """Validate each YAML file; ``--gpu`` (H100-class device) or ``--cpu`` (default) applies to the files after it."""
    import yaml

    os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
    gpu, failed = False, 0
    for path in argv:
        if path in ("--gpu", "--cpu"):
            gpu = path == "--gpu"
            continue
        with open(path, encoding="utf-8") as fh:
            cfg = yaml.safe_load(fh) or {}
        errors = validate(cfg, gpu=gpu)
        failed += bool(errors)
        print(json.dumps({"path": path, "ok": not errors, "errors": errors}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
