"""The training steps: ``run_sft`` and ``run_dpo`` (SFT -> merge -> DPO -> merge), each ending in a registry version."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_core.domain.results import StepResult
from twin_core.training.base_model import BaseModelMissing, BaseRef, resolve_base
from twin_core.training.card import model_card
from twin_core.training.inputs import DatasetKind, DatasetMissing, DatasetRef, export_jsonl, resolve_dataset
from twin_core.training.recipes import RunPaths, needs_preprocess, render, write_config
from twin_core.training.registry import ModelRegistry, ModelVersion, push_once
from twin_core.training.runner import (
    axolotl_env,
    checkpoints,
    multi_gpu_args,
    remove_incomplete_checkpoints,
    run_axolotl,
)
from twin_core.training.settings import DpoRecipe, SftRecipe, TrainerSettings
from twin_core.training.tracking import flat_metrics, git_commit, parse_log_records, summarize, wandb_record

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.training")
TRAIN_DONE = ".twin-train-done.json"
MERGE_DONE = ".twin-merge-done"
SKIP_FILES = {"debug.log", "README.md", TRAIN_DONE, MERGE_DONE}


def open_registry(cfg: TwinSettings) -> ModelRegistry:
    """The model registry under ``paths.models_dir``."""
    return ModelRegistry(cfg.paths.models_dir / "registry")


def registry_name(cfg: TwinSettings, method: str) -> str:
    """``<model.name>-sft`` or ``<model.name>-dpo``."""
    return f"{cfg.model.name}-{method}"


def fingerprint(inputs: dict[str, Any]) -> str:
    """A stable id of everything that determines the trained weights."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _train(recipe: TrainerSettings, config: Path, run_dir: Path, out: Path) -> dict[str, Any]:
    """Train unless done; a crashed run resumes from its newest complete checkpoint (Axolotl's auto-resume).

    Returns the run's summary and metric history (the resumed checkpoint's, then the final run's printed records).
    """
    marker = out / TRAIN_DONE
    if marker.is_file():
        log.info("training already finished in %s; reusing it", out)
        return json.loads(marker.read_text())
    removed = remove_incomplete_checkpoints(out)
    found = checkpoints(out)
    earlier: list[dict[str, Any]] = []
    if found:
        earlier = json.loads((found[-1] / "trainer_state.json").read_text()).get("log_history", [])
        log.info("resuming from %s", found[-1], extra={"removed_incomplete": len(removed)})
    env = axolotl_env({"WANDB_DIR": str(run_dir)})
    if needs_preprocess(recipe):
        run_axolotl("preprocess", [str(config)], cwd=run_dir, log_path=run_dir / "preprocess.log", env=env)
    args = [str(config), *(multi_gpu_args() if recipe.distributed != "none" else [])]
    lines = run_axolotl(
        "train", args, cwd=run_dir, log_path=run_dir / "train.log", env=env, pid_file=run_dir / "axolotl.pid"
    )
    records, summary = parse_log_records(lines)
    result = {"summary": summary, "history": earlier + records, "resumed_from": found[-1].name if found else None}
    marker.write_text(json.dumps(result) + "\n")
    return result


def _final_model(recipe: TrainerSettings, config: Path, run_dir: Path, out: Path) -> Path:
    """The merged model folder (LoRA/QLoRA: ``axolotl merge-lora``; full: the trained weights)."""
    if recipe.adapter == "full":
        final = run_dir / "model"
        shutil.rmtree(final, ignore_errors=True)
        final.mkdir()
        for path in out.iterdir():
            if path.is_file() and path.name not in SKIP_FILES:
                shutil.copy2(path, final / path.name)
        return final
    merged, marker = out / "merged", out / MERGE_DONE
    if not (marker.is_file() and merged.is_dir()):
        shutil.rmtree(merged, ignore_errors=True)
        run_axolotl(
            "merge-lora", [str(config), "--lora-model-dir", str(out)], cwd=run_dir, log_path=run_dir / "merge.log"
        )
        marker.touch()
    return merged


def _cleanup(recipe: TrainerSettings, run_dir: Path, out: Path) -> None:
    """Free disk once the version is registered: checkpoints and the tokenized copy go, config and logs stay."""
    (out / MERGE_DONE).unlink(missing_ok=True)
    if recipe.keep_checkpoints:
        return
    for path in [*checkpoints(out), run_dir / "prepared", run_dir / "model"]:
        shutil.rmtree(path, ignore_errors=True)


def _push(cfg: TwinSettings, version: ModelVersion, method: str) -> str | None:
    """Push to ``model.hub_repo`` (DPO) / ``<hub_repo>-sft`` (SFT) once, when a repo and ``$HF_TOKEN`` are set.

    A failed push is logged and retried by the next run of the step; the registered version stands.
    """
    token = os.environ.get("HF_TOKEN")
    if not (cfg.model.hub_repo and token):
        return None
    repo = cfg.model.hub_repo if method == "dpo" else f"{cfg.model.hub_repo}-sft"
    try:
        return push_once(version, repo, token)
    except Exception as exc:
        log.warning("push of %s/%s to %s failed: %s (is HF_HUB_OFFLINE=1?)", version.name, version.version, repo, exc)
        return f"failed: {type(exc).__name__}: {exc}"


def stage_inputs(cfg: TwinSettings, recipe: TrainerSettings, base: BaseRef, dataset: DatasetRef) -> dict[str, Any]:
    """Everything that determines the trained weights of one stage (its fingerprint is the idempotency key)."""
    return {
        "method": "dpo" if isinstance(recipe, DpoRecipe) else "sft",
        "recipe": recipe.model_dump(mode="json", exclude={"dpo", "launcher", "sagemaker"}),  # where: not the weights
        "model": {"chat_template": cfg.model.chat_template, "max_seq_length": cfg.model.max_seq_length},
        "base": base.identity,
        "dataset": {"kind": dataset.kind, "version": dataset.version, "manifest_id": dataset.manifest_id},
    }


def train_stage(
    cfg: TwinSettings, recipe: TrainerSettings, base: BaseRef, kind: DatasetKind, parent: ModelVersion | None = None
) -> StepResult:
    """One stage: export data, render, train (resumable), merge, register; skipped when these inputs are registered."""
    method = "dpo" if isinstance(recipe, DpoRecipe) else "sft"
    registry, name = open_registry(cfg), registry_name(cfg, method)
    dataset: DatasetRef = resolve_dataset(cfg.paths.artifacts_dir, kind)
    inputs = stage_inputs(cfg, recipe, base, dataset)
    fp = fingerprint(inputs)
    existing = registry.find(name, fp)
    if existing:
        log.info("%s/%s already trained from these inputs; skipped", name, existing.version)
        return StepResult(
            step=method,
            message=f"{name}/{existing.version} already registered for the same inputs; skipped",
            artifacts={"model": str(existing.path)},
            details={"name": name, "version": existing.version, "fingerprint": fp, "skipped": True}
            | {"hub": _push(cfg, existing, method)},
        )
    run_dir = cfg.paths.models_dir / "runs" / name / fp[:16]
    data = export_jsonl(dataset, run_dir / "data")
    test = data.get("test")
    paths = RunPaths(base.path, data["train"][0], test[0] if test else None, run_dir, f"{name}-{fp[:12]}")
    rendered = render(recipe, cfg.model, paths)
    header = f"Axolotl config rendered from trainer={recipe.recipe} for {name} (inputs {fp})"
    config = write_config(rendered, run_dir / "axolotl.yaml", header=header)
    (run_dir / "inputs.json").write_text(json.dumps(inputs | {"fingerprint": fp}, indent=2) + "\n")
    if cfg.trainer.launcher == "sagemaker":  # the top-level recipe's launcher runs both of its stages
        from twin_core.cloud.sagemaker_training import train_on_sagemaker

        trained, model_dir = train_on_sagemaker(
            recipe, cfg.trainer.sagemaker, rendered, paths, registry_name=name, fingerprint=fp
        )
    else:
        trained = _train(recipe, config, run_dir, paths.output_dir)
        model_dir = _final_model(recipe, config, run_dir, paths.output_dir)
    metrics = summarize(method, trained["history"], trained["summary"])
    rows = {split: n for split, (_, n) in data.items()}
    manifest = {
        "method": method,
        "recipe": recipe.recipe,
        "adapter": recipe.adapter,
        "fingerprint": fp,
        "demo": base.demo,
        "base_model": base.lineage(),
        "parent": {"name": parent.name, "version": parent.version} if parent else None,
        "datasets": [dataset.lineage() | {"rows": rows}],
        "metrics": metrics,
        "git": git_commit(cfg.paths.root),
        "tracking": wandb_record(rendered, run_dir),
        "run_dir": str(run_dir),
    }
    recipe_text = config.read_text()
    version = registry.register(
        name,
        model_dir=model_dir,
        manifest=manifest,
        files=lambda m: {"README.md": model_card(m, recipe_text), "recipe.yaml": recipe_text},
    )
    hub_url = _push(cfg, version, method)
    _cleanup(recipe, run_dir, paths.output_dir)
    return StepResult(
        step=method,
        message=f"trained and registered {name}/{version.version} (candidate) from {kind} dataset {dataset.version}",
        counts={f"{k}_rows": v for k, v in rows.items()} | {"logged_steps": int(metrics["logged_steps"])},
        metrics=flat_metrics(metrics),
        artifacts={"model": str(version.path), "recipe": str(version.path / "recipe.yaml"), "run_dir": str(run_dir)},
        details={"name": name, "version": version.version, "fingerprint": fp, "skipped": False, "hub": hub_url}
        | {"dataset_version": dataset.version, "resumed_from": trained["resumed_from"]},
    )


def run_sft(cfg: TwinSettings) -> StepResult:
    """SFT of the base model on the latest instruction dataset -> ``<name>-sft`` version (candidate)."""
    if not isinstance(cfg.trainer, SftRecipe):
        raise ValueError(
            f"trainer={cfg.trainer.recipe} is a DPO recipe; the sft step needs an SFT recipe "
            "(trainer=cpu_tiny | sft_lora | sft_qlora | sft_full)"
        )
    return train_stage(cfg, cfg.trainer, resolve_base(cfg.model), "instruction")


def _sft_parent(cfg: TwinSettings, registry: ModelRegistry, sft_name: str) -> ModelVersion | None:
    """The SFT version trained from the current SFT recipe and data when there is one, else the latest SFT version."""
    if isinstance(cfg.trainer, SftRecipe):
        try:
            dataset = resolve_dataset(cfg.paths.artifacts_dir, "instruction")
            inputs = stage_inputs(cfg, cfg.trainer, resolve_base(cfg.model), dataset)
        except (BaseModelMissing, DatasetMissing):
            inputs = None
        match = registry.find(sft_name, fingerprint(inputs)) if inputs else None
        if match:
            return match
    return registry.get(sft_name)


def run_dpo(cfg: TwinSettings) -> StepResult:
    """DPO of the merged SFT model (this SFT recipe's version, else the latest) -> a ``<name>-dpo`` candidate."""
    recipe = cfg.trainer if isinstance(cfg.trainer, DpoRecipe) else getattr(cfg.trainer, "dpo", None)
    if recipe is None:
        raise ValueError(f"trainer={cfg.trainer.recipe} has no DPO stage (trainer.dpo is null)")
    sft_name = registry_name(cfg, "sft")
    parent = _sft_parent(cfg, open_registry(cfg), sft_name)
    if parent is None:
        raise FileNotFoundError(f"no SFT model registered as {sft_name!r}; run `twin step sft` first")
    root_base = parent.manifest.get("base_model", {})
    base = BaseRef(
        ref=str(parent.path),
        path=str(parent.path),
        identity=f"registry:{sft_name}/{parent.version}:{parent.manifest.get('fingerprint')}",
        demo=bool(parent.manifest.get("demo")),
        hub_id=root_base.get("hub_id"),
        registry=f"{sft_name}/{parent.version}",
    )
    return train_stage(cfg, recipe, base, "preference", parent=parent)
