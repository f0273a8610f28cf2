"""Training inputs: the dataset step's versioned DatasetDicts, resolved and exported to jsonl for Axolotl."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DatasetKind = Literal["instruction", "preference"]
NEXT_STEP = "twin pipeline=dataset"


class DatasetMissing(FileNotFoundError):
    """No usable dataset version of the kind a stage needs."""


@dataclass(frozen=True)
class DatasetRef:
    """One dataset version on disk and what its manifest says about it."""

    kind: DatasetKind
    version: str
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_id(self) -> str:
        """The manifest's own id, else a hash of the manifest file (stable for one version)."""
        for key in ("id", "manifest_id", "dataset_id", "fingerprint"):
            if isinstance(self.manifest.get(key), str):
                return self.manifest[key]
        blob = json.dumps(self.manifest, sort_keys=True, default=str).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()[:16]

    def lineage(self) -> dict[str, Any]:
        """What a model manifest records about this input."""
        return {"kind": self.kind, "version": self.version, "manifest_id": self.manifest_id, "path": str(self.path)}


def _latest(root: Path) -> Path | None:
    """``latest`` as a symlink, a folder, or a file naming the version; else the newest version folder."""
    pointer = root / "latest"
    if pointer.is_symlink() or pointer.is_dir():
        target = pointer.resolve()
        return target if target.is_dir() else None
    if pointer.is_file():
        text = pointer.read_text().strip()
        name = json.loads(text).get("version", "") if text.startswith("{") else text
        target = root / name
        return target if name and target.is_dir() else None
    versions = [p for p in root.iterdir() if p.is_dir() and (p / "manifest.json").is_file()] if root.is_dir() else []
    return max(versions, key=lambda p: (p.stat().st_mtime, p.name)) if versions else None


def resolve_dataset(artifacts_dir: Path, kind: DatasetKind, version: str | None = None) -> DatasetRef:
    """The given (or latest) version under ``<artifacts>/datasets/<kind>/``; a clear error names the step to run."""
    root = Path(artifacts_dir) / "datasets" / kind
    path = root / version if version else _latest(root)
    if path is None or not path.is_dir():
        wanted = f"version {version!r}" if version else "any version"
        raise DatasetMissing(f"no {kind} dataset ({wanted}) under {root}; run `{NEXT_STEP}` first")
    manifest_file = path / "manifest.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {}
    name = str(manifest.get("version") or path.name)
    return DatasetRef(kind=kind, version=name, path=path.resolve(), manifest=manifest)


def _message_text(value: Any) -> str:
    """A completion given as a string, a message, or a list of messages: its (last assistant) content."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("content", ""))
    if isinstance(value, list) and value:
        assistant = [m for m in value if isinstance(m, dict) and m.get("role") == "assistant"]
        return _message_text((assistant or value)[-1])
    raise ValueError(f"cannot read a completion from {value!r}")


def preference_row(row: dict[str, Any]) -> dict[str, Any]:
    """``{messages, chosen, rejected}`` for Axolotl's ``chat_template.default`` DPO format (any chat template).

    The prompt turns come from ``messages`` (the chosen conversation) when present: ``prompt`` may be pre-rendered.
    """
    prompt, conversation = row.get("prompt"), row.get("messages")
    if isinstance(conversation, list) and conversation and conversation[-1].get("role") == "assistant":
        messages = [{"role": m["role"], "content": m["content"]} for m in conversation[:-1]]
    elif isinstance(prompt, list):
        messages = [{"role": m["role"], "content": m["content"]} for m in prompt]
    else:
        messages = [{"role": "user", "content": str(prompt)}]
        if row.get("system"):
            messages.insert(0, {"role": "system", "content": str(row["system"])})
    return {"messages": messages, "chosen": _message_text(row["chosen"]), "rejected": _message_text(row["rejected"])}


def instruction_row(row: dict[str, Any]) -> dict[str, Any]:
    """``{messages}`` with only role and content (Axolotl's ``chat_template`` format)."""
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in row["messages"]]}


def load_splits(path: Path) -> dict[str, Any]:
    """The non-empty splits of a ``save_to_disk`` folder (an empty split has no shard and cannot be loaded)."""
    from datasets import Dataset

    dict_file = path / "dataset_dict.json"
    names = json.loads(dict_file.read_text())["splits"] if dict_file.is_file() else [""]
    splits = {}
    for name in names:
        state = json.loads((path / name / "state.json").read_text())
        if state.get("_data_files"):
            splits[name or "train"] = Dataset.load_from_disk(str(path / name))
    return splits


def export_jsonl(ref: DatasetRef, out_dir: Path) -> dict[str, tuple[Path, int]]:
    """Write every split as ``<split>.jsonl`` (train and test when present); returns split -> (file, rows)."""
    splits = load_splits(ref.path)
    if "train" not in splits or len(splits["train"]) == 0:
        raise DatasetMissing(f"{ref.kind} dataset {ref.version} at {ref.path} has no train rows")
    convert = instruction_row if ref.kind == "instruction" else preference_row
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, tuple[Path, int]] = {}
    for split in ("train", "test"):
        if split not in splits or len(splits[split]) == 0:
            continue
        path = out_dir / f"{split}.jsonl"
        tmp = path.with_suffix(".jsonl.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for row in splits[split]:
                fh.write(json.dumps(convert(row), ensure_ascii=False) + "\n")
        tmp.replace(path)
        written[split] = (path, len(splits[split]))
    return written
