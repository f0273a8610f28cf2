"""On-disk model registry: ``<models_dir>/registry/<name>/v<N>/`` folders (model, card, recipe, manifest) and stages."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("twin.training.registry")
STAGES = ("candidate", "production")
_VERSION = re.compile(r"^v(\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: its folder (a loadable HF model) and its manifest."""

    name: str
    version: str
    path: Path
    manifest: dict[str, Any]
    stages: tuple[str, ...] = ()

    @property
    def number(self) -> int:
        return int(self.version[1:])


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


class ModelRegistry:
    """Versions per model name, written atomically under a file lock; stage tags point at one version each."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"invalid model name {name!r}")
        return self.root / name

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[Path]:
        folder = self._dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield folder
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def names(self) -> list[str]:
        """Every model name with at least one version."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.list_versions(p.name))

    def stages(self, name: str) -> dict[str, str]:
        """Stage -> version for ``name``."""
        path = self._dir(name) / "stages.json"
        return dict(json.loads(path.read_text()).get("stages", {})) if path.is_file() else {}

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every complete version of ``name``, oldest first."""
        folder = self._dir(name)
        if not folder.is_dir():
            return []
        tags = self.stages(name)
        out = []
        for path in folder.iterdir():
            if _VERSION.match(path.name) and (path / "manifest.json").is_file():
                stages = tuple(s for s in STAGES if tags.get(s) == path.name)
                manifest = json.loads((path / "manifest.json").read_text())
                out.append(ModelVersion(name, path.name, path, manifest, stages))
        return sorted(out, key=lambda v: v.number)

    def get(self, name: str, version: str | None = None, *, stage: str | None = None) -> ModelVersion | None:
        """A version by name, by stage tag, or the latest; None when there is none."""
        if version and stage:
            raise ValueError("give a version or a stage, not both")
        if stage:
            self._check_stage(stage)
            version = self.stages(name).get(stage)
            if version is None:
                return None
        versions = self.list_versions(name)
        if version is None:
            return versions[-1] if versions else None
        return next((v for v in versions if v.version == version), None)

    def find(self, name: str, fingerprint: str) -> ModelVersion | None:
        """The version trained from exactly these inputs (same fingerprint), if any."""
        return next((v for v in self.list_versions(name) if v.manifest.get("fingerprint") == fingerprint), None)

    def register(
        self,
        name: str,
        *,
        model_dir: Path,
        manifest: dict[str, Any],
        files: Callable[[dict[str, Any]], dict[str, str]] | None = None,
        stage: str | None = "candidate",
        move: bool = True,
    ) -> ModelVersion:
        """Add ``model_dir`` (moved or copied) as the next version plus ``files(manifest)``; tag it ``stage``."""
        folder = self._dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".staging-{uuid.uuid4().hex}"
        try:
            if move:
                shutil.move(str(model_dir), str(staging))
            else:
                shutil.copytree(model_dir, staging)
            with self._locked(name):
                numbers = [v.number for v in self.list_versions(name)]
                version = f"v{max(numbers, default=0) + 1}"
                full = {"name": name, "version": version, **manifest}
                full.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
                for filename, text in (files(full) if files else {}).items():
                    (staging / filename).write_text(text, encoding="utf-8")
                _write_json(staging / "manifest.json", full)
                os.rename(staging, folder / version)
                if stage:
                    self._tag(name, version, stage)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        log.info("registered %s/%s", name, version, extra={"stage": stage or "", "path": str(folder / version)})
        return self.get(name, version)  # type: ignore[return-value]

    def promote(self, name: str, version: str, stage: str) -> ModelVersion:
        """Point ``stage`` of ``name`` at ``version`` (the evaluation gate calls this)."""
        self._check_stage(stage)
        with self._locked(name):
            if self.get(name, version) is None:
                known = [v.version for v in self.list_versions(name)]
                raise KeyError(f"{name} has no version {version!r}; known: {known}")
            self._tag(name, version, stage)
        log.info("promoted %s/%s to %s", name, version, stage)
        return self.get(name, version)  # type: ignore[return-value]

    def _tag(self, name: str, version: str, stage: str) -> None:
        path = self._dir(name) / "stages.json"
        data = json.loads(path.read_text()) if path.is_file() else {"stages": {}, "history": []}
        previous = data["stages"].get(stage)
        data["stages"][stage] = version
        at = datetime.now(UTC).isoformat(timespec="seconds")
        data["history"].append({"stage": stage, "version": version, "previous": previous, "at": at})
        _write_json(path, data)

    @staticmethod
    def _check_stage(stage: str) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; known: {list(STAGES)}")


def push_to_hub(version: ModelVersion, repo_id: str, token: str, *, private: bool = True) -> str:
    """Upload a version folder (model + card) to the Hugging Face Hub; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(
        folder_path=str(version.path),
        repo_id=repo_id,
        commit_message=f"{version.name} {version.version}",
        ignore_patterns=[".*"],
    )
    return str(getattr(info, "commit_url", info))


def push_once(version: ModelVersion, repo_id: str, token: str) -> str:
    """Push unless ``.hub.json`` in the version folder records a push to ``repo_id`` already; returns the URL."""
    record = version.path / ".hub.json"
    done = json.loads(record.read_text()) if record.is_file() else {}
    if done.get("repo") == repo_id:
        return str(done["url"])
    url = push_to_hub(version, repo_id, token)
    _write_json(record, {"repo": repo_id, "url": url, "at": datetime.now(UTC).isoformat(timespec="seconds")})
    log.info("pushed %s/%s to the Hub", version.name, version.version, extra={"repo": repo_id})
    return url
