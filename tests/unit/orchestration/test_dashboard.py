"""The UI plugin's readers: the training room's registry layout and the eval room's leaderboard, absence handled."""

from __future__ import annotations

import json
from pathlib import Path

from twin_core.orchestration.dashboard import leaderboard_rows, read_leaderboard, read_registry
from twin_core.training.registry import ModelRegistry


def _register(reg: ModelRegistry, tmp: Path, name: str, loss: float) -> str:
    model = tmp / f"model-{name}-{loss}"
    model.mkdir()
    manifest = {
        "method": "sft",
        "recipe": "cpu_tiny",
        "datasets": [{"kind": "instruction", "version": "a4b9", "rows": {"train": 10}}],
        "metrics": {"train_loss": loss, "eval": {"loss": loss + 1}, "logged_steps": 4, "note": "x"},
    }
    return reg.register(name, model_dir=model, manifest=manifest).version


def test_registry_rows_newest_first_with_stages_and_metrics(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "registry")
    _register(reg, tmp_path, "twin-sft", 2.5)
    _register(reg, tmp_path, "twin-sft", 1.5)
    reg.promote("twin-sft", "v1", "production")
    table = read_registry(tmp_path / "registry")
    assert table.problems == []
    assert [(r["name"], r["version"], r["stages"]) for r in table.rows] == [
        ("twin-sft", "v2", "candidate"),
        ("twin-sft", "v1", "production"),
    ]
    assert table.rows[0]["metrics"] == {"train_loss": 1.5, "eval.loss": 2.5, "logged_steps": 4}
    assert table.rows[0]["datasets"] == "instruction a4b9"
    assert table.rows[0]["recipe"] == "cpu_tiny" and table.rows[0]["created_at"]


def test_missing_registry_is_a_note_not_an_error(tmp_path: Path) -> None:
    table = read_registry(tmp_path / "nope")
    assert table.rows == [] and "no model registry yet" in table.problems[0]


def test_broken_manifest_is_reported_and_others_still_shown(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "registry")
    _register(reg, tmp_path, "twin-dpo", 1.0)
    bad = tmp_path / "registry" / "twin-dpo" / "v7"
    bad.mkdir()
    (bad / "manifest.json").write_text("{half")
    table = read_registry(tmp_path / "registry")
    assert [r["version"] for r in table.rows] == ["v1"]
    assert "v7/manifest.json: unreadable" in table.problems[0]


def test_leaderboard_columns_ids_first_then_metrics(tmp_path: Path) -> None:
    path = tmp_path / "leaderboard.json"
    rows = [
        {"model": "twin-dpo", "version": "v2", "stage": "candidate", "metrics": {"style": 0.8, "ppl": 12.5}},
        {"model": "twin-dpo", "version": "v1", "stage": "production", "metrics": {"style": 0.7, "ppl": 13.0}},
    ]
    path.write_text(json.dumps({"generated_at": "2026-01-05", "rows": rows}))
    table = read_leaderboard(path)
    assert table.columns == ["model", "version", "stage", "ppl", "style"]
    assert table.rows[0] == {"model": "twin-dpo", "version": "v2", "stage": "candidate", "style": 0.8, "ppl": 12.5}


def test_leaderboard_sorted_by_score_when_unranked(tmp_path: Path) -> None:
    path = tmp_path / "leaderboard.json"
    path.write_text(json.dumps([{"model": "a", "score": 1}, {"model": "b", "score": 3}]))
    assert [r["model"] for r in read_leaderboard(path).rows] == ["b", "a"]


def test_leaderboard_accepts_entries_key_and_skips_non_rows() -> None:
    assert leaderboard_rows({"entries": [{"model": "a", "tags": ["x"]}, "junk"]}) == [{"model": "a"}]


def test_leaderboard_absent_or_malformed(tmp_path: Path) -> None:
    assert "no leaderboard yet" in read_leaderboard(tmp_path / "none.json").problems[0]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"what": 1}))
    assert "expected a list of rows" in read_leaderboard(bad).problems[0]


def test_the_eval_rooms_leaderboard_file_reads_in_its_column_order(tmp_path: Path) -> None:
    from twin_core.evaluation import leaderboard

    rows = [
        leaderboard.Row(model="twin-dpo/v2", kind="dpo", stage="candidate", metrics={"bits_per_byte": 1.2}),
        leaderboard.Row(
            model="base", kind="base", path="/m/base", metrics={"bits_per_byte": 1.9, "style_distance": 0.3}
        ),
    ]
    board = leaderboard.build(rows, run="20260105T030000Z", samples=5)
    path = tmp_path / "leaderboard.json"
    path.write_text(json.dumps(board.model_dump(mode="json")))
    table = read_leaderboard(path)
    assert table.problems == []
    assert table.columns == ["model", "kind", "stage", *board.columns]
    shown = {c: v for c, v in table.rows[0].items() if c in table.columns}
    assert shown == {"model": "twin-dpo/v2", "kind": "dpo", "stage": "candidate", "bits_per_byte": 1.2}
    assert table.directions == board.directions and table.meta == {"run": "20260105T030000Z", "samples": 5}
