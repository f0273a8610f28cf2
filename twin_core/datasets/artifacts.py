"""Versioned dataset artifacts: the version hash, save_to_disk, manifest, the ``latest`` pointer, records, Hub push."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_core.domain.documents import CleanedDocument
from twin_core.domain.ids import content_hash

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings
    from twin_core.warehouse import Warehouse

log = logging.getLogger("twin.datasets")
FORMAT_VERSION = 1
VERSIONS_COLLECTION = "dataset_versions"
KINDS = ("instruction", "preference")


def source_records(docs: Sequence[CleanedDocument]) -> list[dict[str, str]]:
    """Id, record hash and lineage of every source document, sorted by id."""
    return sorted(
        (
            {
                "id": d.id,
                "hash": content_hash(d.model_dump(mode="json")),
                "raw_content_hash": d.raw_content_hash,
                "category": d.category.value,
                "platform": d.platform,
                "link": d.link,
            }
            for d in docs
        ),
        key=lambda r: r["id"],
    )


def composed_config(cfg: TwinSettings, chat_template: str) -> dict[str, Any]:
    """The parts of the composed config that decide the data (output switches left out)."""
    fields = {"provider", "model", "base_url", "temperature", "top_p", "max_tokens", "seed", "tokenizer"}
    llm = cfg.llm.model_dump(mode="json", include=fields)
    return {
        "format": FORMAT_VERSION,
        "dataset": cfg.dataset.model_dump(mode="json", exclude={"force", "push_to_hub"}),
        "llm": llm if cfg.dataset.uses_llm() else None,
        "model": {"base": cfg.model.base, "chat_template_sha256": hashlib.sha256(chat_template.encode()).hexdigest()},
    }


def dataset_version(config: dict[str, Any], sources: list[dict[str, str]]) -> str:
    """12 hex digits over (config, source ids and hashes): unchanged inputs give the same version."""
    return content_hash({"config": config, "sources": [(s["id"], s["hash"]) for s in sources]})[:12]


def kind_dir(artifacts_dir: Path, kind: str) -> Path:
    """``<artifacts>/datasets/<kind>``: every version of one dataset kind."""
    return Path(artifacts_dir) / "datasets" / kind


def existing(artifacts_dir: Path, kind: str, version: str) -> dict[str, Any] | None:
    """The manifest of a finished version, or None."""
    path = kind_dir(artifacts_dir, kind) / version / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else None


def staging_dir(artifacts_dir: Path, kind: str, version: str) -> Path:
    """A fresh folder to build a version in (renamed into place when complete)."""
    path = kind_dir(artifacts_dir, kind) / f".{version}.tmp-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def publish(staging: Path, artifacts_dir: Path, kind: str, version: str) -> Path:
    """Move a built version into place (replacing a forced rebuild) and point ``latest`` at it."""
    final = kind_dir(artifacts_dir, kind) / version
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    point_latest(artifacts_dir, kind, version)
    return final


def point_latest(artifacts_dir: Path, kind: str, version: str) -> Path:
    """``<kind>/latest``: a relative symlink to the version folder (a text file where links are not possible)."""
    link = kind_dir(artifacts_dir, kind) / "latest"
    tmp = link.with_name(f".latest.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        tmp.symlink_to(version, target_is_directory=True)
    except OSError:
        tmp.write_text(version + "\n")
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    os.replace(tmp, link)
    return link


def resolve(artifacts_dir: Path, kind: str, version: str = "latest") -> Path:
    """The folder of a dataset version (``latest`` followed), for training steps and users."""
    path = kind_dir(artifacts_dir, kind) / version
    if path.is_file():
        path = path.with_name(path.read_text().strip())
    if not (path / "manifest.json").is_file():
        raise FileNotFoundError(f"no {kind} dataset at {path}; run `twin pipeline=dataset` first")
    return path.resolve()


def write_json(path: Path, data: Any) -> Path:
    """Indented UTF-8 JSON (the manifest)."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n")
    return path


def record_version(wh: Warehouse, manifest: dict[str, Any], path: Path) -> None:
    """Upsert ``<kind>:<version>`` and ``<kind>:latest`` in the ``dataset_versions`` collection (idempotent)."""
    kind, version = manifest["kind"], manifest["version"]
    doc = {
        "kind": kind,
        "version": version,
        "path": str(path),
        "created_at": manifest["created_at"],
        "splits": manifest["splits"],
        "sources": len(manifest["sources"]),
        "failures": len(manifest["failures"]),
    }
    wh.put(VERSIONS_COLLECTION, f"{kind}:{version}", doc)
    wh.put(VERSIONS_COLLECTION, f"{kind}:latest", {"kind": kind, "version": version, "path": str(path)})


def push_to_hub(dataset_dict: Any, folder: Path, repo: str | None, kind: str) -> str | None:
    """Push the splits (config ``kind``) and the card files when ``repo`` is set and ``$HF_TOKEN`` exists."""
    token = os.environ.get("HF_TOKEN")
    if not repo or not token:
        if repo:
            log.warning("dataset.push_to_hub=%s but $HF_TOKEN is not set: not pushed", repo)
        return None
    from huggingface_hub import HfApi

    dataset_dict.push_to_hub(repo, config_name=kind, token=token, private=True)
    HfApi(token=token).upload_folder(
        folder_path=str(folder),
        path_in_repo=f"cards/{kind}",
        repo_id=repo,
        repo_type="dataset",
        allow_patterns=["README.md", "*.png", "manifest.json"],
    )
    log.info("dataset %s pushed to https://huggingface.co/datasets/%s", kind, repo)
    return f"https://huggingface.co/datasets/{repo}"


def now_iso() -> str:
    """Now, UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
