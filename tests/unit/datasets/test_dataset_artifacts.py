"""Versions hash config and sources; ``latest`` follows the newest build; the card and plots are made."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from twin_core.datasets import artifacts as art
from twin_core.datasets.card import render_card
from twin_core.datasets.explore import length_histogram, map_plot, project_2d, top_topics
from twin_core.domain.documents import CleanedDocument


def test_version_changes_with_a_document_or_the_config_and_only_then(
    make_doc: Callable[..., CleanedDocument],
) -> None:
    docs = [make_doc("First text.", id="a"), make_doc("Second text.", id="b")]
    config = {"dataset": {"seed": 1}}
    v = art.dataset_version(config, art.source_records(docs))
    assert len(v) == 12 and v == art.dataset_version(config, art.source_records(list(reversed(docs))))
    edited = [docs[0], make_doc("Second text, edited.", id="b")]
    assert art.dataset_version(config, art.source_records(edited)) != v
    assert art.dataset_version({"dataset": {"seed": 2}}, art.source_records(docs)) != v


def test_publish_points_latest_and_resolve_follows_it(tmp_path: Path) -> None:
    for version in ("v1", "v2"):
        staging = art.staging_dir(tmp_path, "instruction", version)
        art.write_json(staging / "manifest.json", {"version": version})
        art.publish(staging, tmp_path, "instruction", version)
    assert art.resolve(tmp_path, "instruction").name == "v2"
    assert art.resolve(tmp_path, "instruction", "v1").name == "v1"
    assert art.existing(tmp_path, "instruction", "v1") == {"version": "v1"}
    assert sorted(p.name for p in (tmp_path / "datasets" / "instruction").iterdir()) == ["latest", "v1", "v2"]
    with pytest.raises(FileNotFoundError, match="run `twin pipeline=dataset` first"):
        art.resolve(tmp_path, "preference")


def test_topics_and_map(tmp_path: Path) -> None:
    texts = [
        "Backfills and pipelines at 3 a.m.",
        "Pipelines don't backfill themselves.",
        "Sourdough starter Gerald.",
    ] * 3
    topics = dict(top_topics(texts, 3))
    assert "pipelines" in topics and "don" not in topics
    coords, method = project_2d(texts, "tfidf", 0)
    assert coords.shape == (9, 2) and method == "TF-IDF + truncated SVD"
    coords, method = project_2d(texts, "auto", 0, embed=lambda t: (_ for _ in ()).throw(RuntimeError("no model")))
    assert method == "TF-IDF + truncated SVD"
    assert project_2d(texts, "none", 0)[1] == "none"
    map_plot(tmp_path / "map.png", coords, {"category": ["a", "b", "c"] * 3}, "t")
    length_histogram(tmp_path / "len.png", {"answer": [10, 20, 30], "instruction": [5]}, "t")
    assert (tmp_path / "map.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "len.png").stat().st_size > 1000


def test_card_shows_counts_funnel_failures_examples_and_plots() -> None:
    manifest = {
        "kind": "instruction", "version": "abc123def456", "created_at": "2026-01-01T00:00:00+00:00",
        "sources": [{"id": "a"}, {"id": "b"}], "generator": "backtranslation", "seed": 42,
        "splits": {"train": 8, "test": 2}, "test_documents": ["b"],
        "funnel": [{"stage": "rules", "before": 12, "after": 10, "dropped": {"answer_too_short": 2}}],
        "failure_counts": {"judge": 1}, "path": "/x/instruction/abc123def456",
        "exploration": {"map_method": "TF-IDF + truncated SVD", "topics": [["pipelines", 2.5]],
                        "topics_by_category": {"article": [["pipelines", 2.5]]}},
    }  # fmt: skip
    example = {
        "instruction": "Write | it",
        "answer": "Line one.\n\nLine two.",
        "category": "post",
        "platform": "linkedin",
    }
    card = render_card(manifest, [example], "Ysolde Brannagh")
    assert card.startswith("---\npretty_name: LLM Twin instruction dataset (Ysolde Brannagh)\n")
    for expected in (
        "| train | 8 |", "| rules | 12 | 10 | answer_too_short: 2 |", "judge: 1", "![length histogram](lengths.png)",
        "![2-D map of samples](map.png)", "pipelines (2.5)", "instruction: Write \\| it", "> Line one.\n>\n> Line two.",
        'load_from_disk("/x/instruction/abc123def456")',
    ):  # fmt: skip
        assert expected in card
    json.dumps(manifest)  # the manifest is plain JSON
