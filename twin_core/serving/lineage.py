"""Which registered model is served: the registry's production version, else its latest candidate (flagged)."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_core.training.registry import ModelRegistry

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.serving.lineage")


@dataclass(frozen=True)
class ServedModel:
    """A registry version chosen for serving, and why (its stage; ``fallback`` when not production)."""

    name: str
    version: str
    path: Path
    stage: str
    fallback: bool
    manifest: dict[str, Any]

    @property
    def tag(self) -> str:
        """``<name>-<version>``: a folder name for its engines."""
        return f"{self.name}-{self.version}"

    def lineage(self) -> dict[str, Any]:
        """What this model came from: registry entry, stage, fingerprint, parent, base model and datasets."""
        m = self.manifest
        return {
            "registry": self.name,
            "registry_version": self.version,
            "stage": self.stage,
            "fallback": self.fallback,
            "model_path": str(self.path),
            "fingerprint": m.get("fingerprint"),
            "parent": m.get("parent"),
            "base_model": m.get("base_model"),
            "datasets": m.get("datasets"),
            "created_at": m.get("created_at"),
        }


def select_model(cfg: TwinSettings) -> ServedModel:
    """The production version of ``serving.registry_model``; else its candidate (or latest), with ``fallback``."""
    registry = ModelRegistry(cfg.paths.models_dir / "registry")
    name = cfg.serving.registry_model
    for stage in ("production", "candidate"):
        if (v := registry.get(name, stage=stage)) is not None:
            break
    else:
        stage, v = "latest", registry.get(name)
    if v is None:
        raise FileNotFoundError(
            f"serving.registry_model={name!r} has no version in {registry.root} (registered: {registry.names()}); "
            "train one with `twin pipeline=train`"
        )
    if stage != "production":
        log.warning("%s has no production version; serving %s %s (fallback)", name, stage, v.version)
    return ServedModel(name, v.version, v.path, stage, stage != "production", dict(v.manifest))


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def now() -> str:
    """UTC now, ISO seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")
