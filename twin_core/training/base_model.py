"""The base model step: build the tiny DEMO model from the warehouse's cleaned text, or check a real one is here."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from twin_core.domain.results import StepResult
from twin_core.training.settings import ModelSettings

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.training.base_model")
BUILD_FILE = "build.json"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class BaseModelMissing(FileNotFoundError):
    """The configured base model cannot be found on this machine."""


@dataclass(frozen=True)
class BaseRef:
    """A base model as configured (``ref``), where Axolotl loads it from (``path``) and what identifies its weights."""

    ref: str
    path: str
    identity: str
    demo: bool = False
    hub_id: str | None = None
    registry: str | None = None

    def lineage(self) -> dict[str, object]:
        """What a model manifest records about its base."""
        out: dict[str, object] = {"ref": self.ref, "path": self.path, "identity": self.identity, "demo": self.demo}
        return out | {k: v for k, v in (("hub_id", self.hub_id), ("registry", self.registry)) if v}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _folder_identity(path: Path) -> str:
    """Config bytes plus the names and sizes of the weight files (cheap, and changes when the weights do)."""
    weights = sorted((p.name, p.stat().st_size) for p in path.glob("*.safetensors")) or sorted(
        (p.name, p.stat().st_size) for p in path.glob("*.bin")
    )
    return "dir:" + _sha((path / "config.json").read_bytes() + json.dumps(weights).encode())[:16]


def resolve_base(model: ModelSettings) -> BaseRef:
    """Where ``model.base`` is on disk (the demo build, a local folder, or the HF cache); a clear error otherwise."""
    path = Path(model.base).expanduser()
    if model.demo:
        build = path / BUILD_FILE
        if not build.is_file():
            raise BaseModelMissing(f"demo base model not built at {path}; run `twin step base_model` first")
        return BaseRef(str(path), str(path), "demo:" + _sha(build.read_bytes())[:16], demo=True)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BaseModelMissing(f"model.base {str(path)!r} has no config.json: not a Hugging Face model folder")
        return BaseRef(str(path), str(path), _folder_identity(path))
    if not _HUB_ID.match(model.base):
        raise BaseModelMissing(f"model.base {model.base!r}: no such folder, and not a Hugging Face Hub id")
    from huggingface_hub import snapshot_download
    from huggingface_hub.constants import HF_HUB_CACHE

    try:
        snapshot = Path(snapshot_download(model.base, local_files_only=True))
    except Exception as exc:
        raise BaseModelMissing(
            f"model.base {model.base!r} is not a local folder and is not in the Hugging Face cache ({HF_HUB_CACHE}); "
            f"this machine cannot download it: run `huggingface-cli download {model.base}` where the Hub is reachable "
            f"(same HF_HOME), or set model.base to a local folder ({type(exc).__name__})"
        ) from exc
    if not (snapshot / "config.json").is_file():
        raise BaseModelMissing(f"model.base {model.base!r}: cached snapshot {snapshot} has no config.json")
    return BaseRef(model.base, str(snapshot), f"hub:{model.base}@{snapshot.name}", hub_id=model.base)


def corpus(cfg: TwinSettings) -> tuple[list[str], str]:
    """The cleaned documents' text (by id) and a hash of it: the demo model's training corpus."""
    from twin_core.warehouse import connect

    with connect(cfg.warehouse) as wh:
        docs = sorted(wh.find_cleaned(), key=lambda d: d.id)
    texts = [d.content for d in docs if d.content and d.content.strip()]
    if not texts:
        raise BaseModelMissing(
            "no cleaned documents in the warehouse to build the demo model from; run `twin pipeline=etl` "
            "then `twin pipeline=feature` first (or use a real model: model=hub)"
        )
    digest = _sha("\n".join(f"{d.id}:{_sha(d.content.encode())}" for d in docs).encode())
    return texts, digest[:16]


def _swap_in(built: Path, target: Path) -> None:
    """Replace ``target`` by ``built`` with renames, so a crash never leaves a half-written model in place."""
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    built.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def run_base_model(cfg: TwinSettings) -> StepResult:
    """Build the demo base model when its corpus or settings changed (else skip); for a real model, check it."""
    model = cfg.model
    if not model.demo:
        ref = resolve_base(model)
        log.info("base model found", extra={"base": model.base, "path": ref.path})
        return StepResult(
            step="base_model",
            message=f"base model {model.base} found at {ref.path}",
            artifacts={"base_model": ref.path},
            details={"identity": ref.identity, "demo": False, "skipped": True},
        )
    from twin_core.training.demo_model import build_demo_model

    texts, corpus_hash = corpus(cfg)
    wanted = {"corpus_hash": corpus_hash, "documents": len(texts), "settings": model.demo_build.model_dump()}
    target = Path(model.base)
    build_file = target / BUILD_FILE
    if build_file.is_file() and json.loads(build_file.read_text()) == wanted:
        log.info("demo base model up to date", extra={"path": str(target), "corpus_hash": corpus_hash})
        return StepResult(
            step="base_model",
            message=f"demo base model at {target} is up to date (corpus {corpus_hash}); skipped",
            counts={"documents": len(texts)},
            artifacts={"base_model": str(target)},
            details={"corpus_hash": corpus_hash, "demo": True, "skipped": True},
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.building-{uuid.uuid4().hex[:8]}")
    try:
        build_demo_model(texts, building, **model.demo_build.model_dump())
        (building / BUILD_FILE).write_text(json.dumps(wanted, indent=2) + "\n")
        _swap_in(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    metrics = json.loads((target / "pretrain_metrics.json").read_text())
    return StepResult(
        step="base_model",
        message=f"built the DEMO base model at {target} from {len(texts)} documents",
        counts={"documents": len(texts), "parameters": int(metrics["parameters"])},
        metrics={"pretrain_first_loss": metrics["first_loss"], "pretrain_final_loss": metrics["final_loss"]},
        artifacts={"base_model": str(target)},
        details={"corpus_hash": corpus_hash, "demo": True, "skipped": False, "pretrain_size": metrics["train_tokens"]},
    )
