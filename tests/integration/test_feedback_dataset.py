"""Feedback on answers shows up as preference pairs in the next dataset build (train split only), and a re-run
with no new feedback is a no-op."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.datasets.feedback import Feedback, store_feedback
from twin_core.domain.documents import CleanedDocument
from twin_core.pipeline.runner import run_pipeline
from twin_core.warehouse import connect

pytestmark = pytest.mark.integration
FAST = ["dataset.explore.embedding=tfidf", "llm.max_tokens=48", "dataset.preference.max_length_ratio=60"]
EDITED = "Test the contracts between stages, not their internals: a failing schema check beats a silent wrong number."
ORIGINAL = "Testing is important. You should test your pipelines with unit tests and integration tests."
GOOD = "Start with the boring parts: idempotent writes, a re-run that changes nothing, and alerts on empty outputs."
BAD = "Pipelines are complex and there are many approaches, so it depends on your needs and your team."


def _load(path: str) -> Any:
    from datasets import load_from_disk

    return load_from_disk(path)


def test_feedback_becomes_preference_pairs_in_the_next_build(
    make_settings: Callable[..., Any], demo_docs: list[CleanedDocument], tiny_base: Path
) -> None:
    overrides = ["pipeline=dataset", f"model.base={tiny_base}", *FAST]
    cfg = make_settings(*overrides)
    with connect(cfg.warehouse) as wh:
        wh.upsert_cleaned(demo_docs)
    (first,) = run_pipeline(cfg)
    assert first.ok and first.counts["feedback_pairs"] == 0
    version = first.details["version"]
    assert first.details["versions"] == {"instruction": version, "preference": version}

    with connect(cfg.warehouse) as wh:
        store_feedback(wh, Feedback(request_id="req-edit", rating="down", query="How do you test data pipelines?",
                                    answer=ORIGINAL, edited_answer=EDITED, content_type="answer"))  # fmt: skip
        store_feedback(wh, Feedback(request_id="req-up", rating="up", query="What should a pipeline test first?",
                                    answer=GOOD, content_type="answer"))  # fmt: skip
        store_feedback(wh, Feedback(request_id="req-down", rating="down", query="what should a pipeline test first",
                                    answer=BAD, content_type="answer"))  # fmt: skip
        store_feedback(wh, Feedback(request_id="req-lone-up", rating="up", query="Why keep pipelines idempotent?",
                                    answer=GOOD + " Then a re-run is always safe.", content_type="post"))  # fmt: skip
        store_feedback(wh, Feedback(request_id="req-lone-down", rating="down", query="Favourite colour?",
                                    answer="Blue, obviously.", content_type="answer"))  # fmt: skip

    (second,) = run_pipeline(make_settings(*overrides))
    assert second.ok and second.details["unchanged"] is False
    pref_version = second.details["versions"]["preference"]
    assert second.details["versions"]["instruction"] == version and pref_version != version  # SFT data unchanged
    assert second.counts["feedback_pairs"] == 3 and second.counts["feedback_unpaired"] == 1
    folder = Path(second.artifacts["preference"])
    assert folder.name == pref_version and (folder.parent / "latest").resolve() == folder
    assert Path(second.artifacts["instruction"]).name == version

    pref = _load(second.artifacts["preference"])
    rows = {r["extract_id"]: r for r in pref["train"] if r["source"] == "feedback"}
    assert set(rows) == {"req-edit", "req-up+req-down", "req-lone-up"}
    lone = rows["req-lone-up"]  # rejected: the base model's own answer, as for the author pairs
    assert lone["chosen"].endswith("always safe.") and lone["rejected_model"] == str(tiny_base)
    assert lone["rejected"] not in (GOOD, BAD, ORIGINAL) and lone["category"] == "post"
    assert (rows["req-edit"]["chosen"], rows["req-edit"]["rejected"]) == (EDITED, ORIGINAL)
    assert (rows["req-up+req-down"]["chosen"], rows["req-up+req-down"]["rejected"]) == (GOOD, BAD)
    author_row = next(r for r in pref["train"] if r["source"] != "feedback")
    edit = rows["req-edit"]
    assert edit["prompt"] == author_row["prompt"].replace(author_row["instruction"], edit["instruction"])
    assert edit["prompt"] == "<|im_start|>user\nHow do you test data pipelines?<|im_end|>\n<|im_start|>assistant\n"
    assert "feedback" not in set(pref["test"]["source"])
    assert len(pref["train"]) == first.counts["preference_train"] + 3
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["feedback"]["feedback_pairs"] == 3 and manifest["feedback"]["feedback_unpaired"] == 1
    assert manifest["feedback"]["up_vs_base"] == 1
    assert (
        manifest["funnel"][-1]["stage"] == "feedback" and "| feedback | 5 | 3 |" in (folder / "README.md").read_text()
    )

    (third,) = run_pipeline(make_settings(*overrides))
    assert third.details["unchanged"] is True and third.details["versions"] == second.details["versions"]
    assert third.counts == second.counts
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted([version, pref_version, "latest"])
