"""Model registry: numbered versions, manifests, stage tags (candidate/production), lookups, Hub push."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from twin_core.training import registry as registry_module
from twin_core.training.registry import ModelRegistry


def _model(tmp_path: Path, name: str = "m") -> Path:
    folder = tmp_path / "runs" / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"w")
    return folder


def _register(reg: ModelRegistry, tmp_path: Path, fp: str, **kw: Any) -> Any:
    manifest = {"fingerprint": fp, "datasets": [{"kind": "instruction", "version": "d1"}]}
    return reg.register("twin-sft", model_dir=_model(tmp_path, fp), manifest=manifest, **kw)


@pytest.fixture
def reg(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "registry")


def test_versions_are_numbered_and_new_ones_become_candidate(reg: ModelRegistry, tmp_path: Path) -> None:
    assert _register(reg, tmp_path, "a").stages == ("candidate",)
    _register(reg, tmp_path, "b")
    assert [(v.version, v.stages) for v in reg.list_versions("twin-sft")] == [("v1", ()), ("v2", ("candidate",))]
    assert reg.stages("twin-sft") == {"candidate": "v2"}
    assert reg.names() == ["twin-sft"]
    assert not (tmp_path / "runs" / "a").exists()  # moved, not copied


def test_manifest_and_files_are_written(reg: ModelRegistry, tmp_path: Path) -> None:
    v = _register(reg, tmp_path, "a", files=lambda m: {"README.md": f"# {m['name']} {m['version']}"})
    manifest = json.loads((v.path / "manifest.json").read_text())
    assert manifest["name"] == "twin-sft" and manifest["version"] == "v1" and manifest["created_at"]
    assert manifest["datasets"] == [{"kind": "instruction", "version": "d1"}]
    assert (v.path / "README.md").read_text() == "# twin-sft v1"
    assert (v.path / "model.safetensors").read_bytes() == b"w"


def test_copy_keeps_the_source(reg: ModelRegistry, tmp_path: Path) -> None:
    source = _model(tmp_path)
    reg.register("twin-sft", model_dir=source, manifest={"fingerprint": "x"}, move=False)
    assert (source / "config.json").is_file()


def test_promote_and_get_by_stage(reg: ModelRegistry, tmp_path: Path) -> None:
    _register(reg, tmp_path, "a")
    _register(reg, tmp_path, "b")
    assert reg.get("twin-sft", stage="production") is None
    promoted = reg.promote("twin-sft", "v1", "production")
    assert promoted.stages == ("production",)
    assert reg.get("twin-sft", stage="production").version == "v1"  # type: ignore[union-attr]
    assert reg.get("twin-sft", stage="candidate").version == "v2"  # type: ignore[union-attr]
    reg.promote("twin-sft", "v2", "production")
    assert reg.get("twin-sft", "v2").stages == ("candidate", "production")  # type: ignore[union-attr]
    history = json.loads((reg.root / "twin-sft" / "stages.json").read_text())["history"]
    assert [(h["stage"], h["version"], h["previous"]) for h in history][-2:] == [
        ("production", "v1", None),
        ("production", "v2", "v1"),
    ]


def test_get_latest_by_version_and_find_by_fingerprint(reg: ModelRegistry, tmp_path: Path) -> None:
    assert reg.get("twin-sft") is None and reg.list_versions("twin-sft") == []
    _register(reg, tmp_path, "a")
    _register(reg, tmp_path, "b")
    assert reg.get("twin-sft").version == "v2"  # type: ignore[union-attr]
    assert reg.get("twin-sft", "v1").manifest["fingerprint"] == "a"  # type: ignore[union-attr]
    assert reg.get("twin-sft", "v9") is None
    assert reg.find("twin-sft", "b").version == "v2"  # type: ignore[union-attr]
    assert reg.find("twin-sft", "zzz") is None


def test_bad_stage_version_and_name_are_refused(reg: ModelRegistry, tmp_path: Path) -> None:
    _register(reg, tmp_path, "a")
    with pytest.raises(ValueError, match="unknown stage 'staging'"):
        reg.promote("twin-sft", "v1", "staging")
    with pytest.raises(KeyError, match=r"twin-sft has no version 'v7'; known: \['v1'\]"):
        reg.promote("twin-sft", "v7", "production")
    with pytest.raises(ValueError, match="invalid model name"):
        reg.list_versions("../etc")
    with pytest.raises(ValueError, match="a version or a stage"):
        reg.get("twin-sft", "v1", stage="candidate")


def test_a_failed_registration_leaves_no_version(reg: ModelRegistry, tmp_path: Path) -> None:
    def boom(manifest: dict[str, Any]) -> dict[str, str]:
        raise RuntimeError("card failed")

    with pytest.raises(RuntimeError, match="card failed"):
        _register(reg, tmp_path, "a", files=boom)
    assert reg.list_versions("twin-sft") == []
    assert not list((reg.root / "twin-sft").glob(".staging-*"))
    assert _register(reg, tmp_path, "b").version == "v1"


def test_incomplete_folders_are_not_versions(reg: ModelRegistry, tmp_path: Path) -> None:
    _register(reg, tmp_path, "a")
    (reg.root / "twin-sft" / "v2").mkdir()  # no manifest.json
    (reg.root / "twin-sft" / "notes").mkdir()
    assert [v.version for v in reg.list_versions("twin-sft")] == ["v1"]


def test_push_to_hub_uploads_the_version_folder(
    reg: ModelRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, Any]] = []

    class FakeApi:
        def __init__(self, token: str) -> None:
            calls.append(("token", token))

        def create_repo(self, repo_id: str, **kw: Any) -> None:
            calls.append(("create", repo_id, kw))

        def upload_folder(self, **kw: Any) -> Any:
            calls.append(("upload", kw["repo_id"], kw["folder_path"], kw["commit_message"]))
            return type("Info", (), {"commit_url": "https://hf.co/me/twin/commit/1"})()

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    v = _register(reg, tmp_path, "a")
    url = registry_module.push_to_hub(v, "me/twin", "hf_x")
    assert url == "https://hf.co/me/twin/commit/1"
    assert calls == [
        ("token", "hf_x"),
        ("create", "me/twin", {"private": True, "exist_ok": True}),
        ("upload", "me/twin", str(v.path), "twin-sft v1"),
    ]
