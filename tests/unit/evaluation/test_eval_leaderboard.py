"""The leaderboard: columns in catalogue order with directions, best values marked, JSON + Markdown + PNG written."""

from __future__ import annotations

import json
from pathlib import Path

from twin_core.evaluation import leaderboard
from twin_core.evaluation.leaderboard import Row

ROWS = [
    Row(model="base", kind="base", metrics={"bits_per_byte": 3.1, "rouge_l": 0.05, "style_distance": 0.6}),
    Row(model="twin-sft/v1", kind="sft", metrics={"bits_per_byte": 2.4, "rouge_l": 0.12, "style_distance": 0.4}),
    Row(
        model="twin-dpo/v1",
        kind="dpo",
        stage="candidate",
        metrics={"bits_per_byte": 2.5, "rouge_l": 0.15, "style_distance": float("nan"), "arc_easy_acc": 0.3},
    ),
]


def test_columns_follow_the_catalogue_then_directed_standard_tasks() -> None:
    board = leaderboard.build(ROWS, {"arc_easy_acc": "higher"}, run="r1")
    assert board.columns == ["bits_per_byte", "rouge_l", "style_distance", "arc_easy_acc"]
    assert board.directions == {
        "bits_per_byte": "lower", "rouge_l": "higher", "style_distance": "lower", "arc_easy_acc": "higher",
    }  # fmt: skip
    assert "style_distance" not in board.row("twin-dpo/v1").metrics  # NaN dropped
    assert leaderboard.best(board, "bits_per_byte") == 2.4 and leaderboard.best(board, "rouge_l") == 0.15
    assert leaderboard.build(ROWS).columns == ["bits_per_byte", "rouge_l", "style_distance"]  # no direction: hidden


def test_markdown_marks_the_best_value_per_column_and_explains_the_columns() -> None:
    md = leaderboard.to_markdown(leaderboard.build(ROWS, run="r1", samples=5))
    lines = md.splitlines()
    assert lines[0] == "# Evaluation leaderboard (r1)" and "- samples: 5" in lines
    assert "| model | stage | bits_per_byte ↓ | rouge_l ↑ | style_distance ↓ |" in lines
    assert "| twin-sft/v1 | sft | **2.4** | 0.12 | **0.4** |" in lines
    assert "| twin-dpo/v1 | candidate | 2.5 | **0.15** | – |" in lines
    assert "- `bits_per_byte`: bits per byte on the author's held-out writing" in lines


def test_write_produces_json_markdown_and_png(tmp_path: Path) -> None:
    files = leaderboard.write(leaderboard.build(ROWS, run="r1"), tmp_path / "board")
    data = json.loads(files["json"].read_text())
    assert [r["model"] for r in data["rows"]] == ["base", "twin-sft/v1", "twin-dpo/v1"]
    assert data["rows"][1]["metrics"]["bits_per_byte"] == 2.4 and data["directions"]["rouge_l"] == "higher"
    assert files["md"].read_text().startswith("# Evaluation leaderboard (r1)")
    png = files["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
