"""Dataset inputs: the dataset step's versions resolved (latest link, text pointer, explicit), exported to jsonl."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.training.inputs import DatasetMissing, DatasetRef, export_jsonl, preference_row, resolve_dataset

CONV = [
    {"role": "system", "content": "You are Jane."},
    {"role": "user", "content": "Write about backfills."},
    {"role": "assistant", "content": "Run them at night."},
]
PREF = {"prompt": "<|im_start|>system\nYou are Jane.<|im_end|>\n...", "messages": CONV, "chosen": "Run them at night."}
PREF |= {"rejected": "As an AI I cannot.", "rejected_model": "gpt"}


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_latest_symlink_is_followed(tmp_path: Path, write_dataset: Callable[..., Path]) -> None:
    write_dataset(tmp_path, "instruction", "aaa", {"train": [{"messages": CONV}]})
    write_dataset(tmp_path, "instruction", "bbb", {"train": [{"messages": CONV}]})
    ref = resolve_dataset(tmp_path, "instruction")
    assert (ref.version, ref.path.name, ref.manifest["kind"]) == ("bbb", "bbb", "instruction")
    assert resolve_dataset(tmp_path, "instruction", "aaa").version == "aaa"


def test_latest_text_pointer_and_newest_fallback(tmp_path: Path, write_dataset: Callable[..., Path]) -> None:
    write_dataset(tmp_path, "preference", "p1", {"train": [PREF]})
    write_dataset(tmp_path, "preference", "p2", {"train": [PREF]})
    latest = tmp_path / "datasets/preference/latest"
    latest.unlink()
    latest.write_text("p1\n")
    assert resolve_dataset(tmp_path, "preference").version == "p1"
    latest.unlink()
    assert resolve_dataset(tmp_path, "preference").version == "p2"


def test_missing_dataset_names_the_step(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissing, match=r"no preference dataset \(any version\) .* `twin pipeline=dataset`"):
        resolve_dataset(tmp_path, "preference")
    with pytest.raises(DatasetMissing, match=r"version 'v9'"):
        resolve_dataset(tmp_path, "preference", "v9")


def test_manifest_id_is_the_manifests_own_or_a_stable_hash(tmp_path: Path) -> None:
    own = DatasetRef("instruction", "v1", tmp_path, {"id": "ds-123"})
    hashed = DatasetRef("instruction", "v1", tmp_path, {"version": "v1", "splits": {"train": 3}})
    assert own.manifest_id == "ds-123"
    assert hashed.manifest_id == DatasetRef("instruction", "v1", tmp_path, dict(hashed.manifest)).manifest_id
    assert hashed.manifest_id.startswith("sha256:")
    assert own.lineage() == {"kind": "instruction", "version": "v1", "manifest_id": "ds-123", "path": str(tmp_path)}


def test_instruction_export_keeps_messages_only(tmp_path: Path, write_dataset: Callable[..., Path]) -> None:
    rows = [{"messages": CONV, "text": "rendered", "id": f"s{i}"} for i in range(3)]
    write_dataset(tmp_path, "instruction", "v1", {"train": rows, "test": rows[:1]})
    out = export_jsonl(resolve_dataset(tmp_path, "instruction"), tmp_path / "data")
    assert {k: n for k, (_, n) in out.items()} == {"train": 3, "test": 1}
    assert _read(out["train"][0]) == [{"messages": CONV}] * 3


def test_preference_export_rebuilds_the_prompt_from_messages(
    tmp_path: Path, write_dataset: Callable[..., Path]
) -> None:
    write_dataset(tmp_path, "preference", "v1", {"train": [PREF, PREF], "test": []})
    out = export_jsonl(resolve_dataset(tmp_path, "preference"), tmp_path / "data")
    assert set(out) == {"train"}  # an empty test split is left out
    assert _read(out["train"][0])[0] == {
        "messages": CONV[:2],
        "chosen": "Run them at night.",
        "rejected": "As an AI I cannot.",
    }


@pytest.mark.parametrize(
    ("row", "messages"),
    [
        ({"prompt": "Hi?", "chosen": "a", "rejected": "b"}, [{"role": "user", "content": "Hi?"}]),
        (
            {"prompt": "Hi?", "system": "Be Jane.", "chosen": "a", "rejected": "b"},
            [{"role": "system", "content": "Be Jane."}, {"role": "user", "content": "Hi?"}],
        ),
        (
            {"prompt": [{"role": "user", "content": "Hi?"}], "chosen": [{"role": "assistant", "content": "a"}]}
            | {"rejected": {"role": "assistant", "content": "b"}},
            [{"role": "user", "content": "Hi?"}],
        ),
    ],
)
def test_preference_row_shapes(row: dict[str, Any], messages: list[dict[str, str]]) -> None:
    assert preference_row(row) == {"messages": messages, "chosen": "a", "rejected": "b"}


def test_a_version_without_train_rows_is_refused(tmp_path: Path, write_dataset: Callable[..., Path]) -> None:
    write_dataset(tmp_path, "instruction", "v1", {"train": [], "test": [{"messages": CONV}]})
    with pytest.raises(DatasetMissing, match="has no train rows"):
        export_jsonl(resolve_dataset(tmp_path, "instruction"), tmp_path / "data")


def test_a_plain_dataset_folder_is_the_train_split(tmp_path: Path) -> None:
    from datasets import Dataset

    path = tmp_path / "datasets/instruction/v1"
    Dataset.from_list([{"messages": CONV}] * 2).save_to_disk(str(path))
    (path / "manifest.json").write_text("{}")
    out = export_jsonl(resolve_dataset(tmp_path, "instruction"), tmp_path / "data")
    assert {k: n for k, (_, n) in out.items()} == {"train": 2}
