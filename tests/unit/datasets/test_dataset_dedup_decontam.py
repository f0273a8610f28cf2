"""Exact and MinHash near-duplicate removal, and n-gram decontamination against the test split and eval files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from twin_core.datasets.decontam import decontaminate, load_eval_texts, ngrams
from twin_core.datasets.dedup import exact_dedup, near_dedup, shingles
from twin_core.domain.samples import InstructionSample

BASE = (
    "Backfills are the part of a data pipeline nobody puts on the slide. They run at three in the morning, "
    "they touch data from months ago, and they find every assumption you forgot you made about partitions, "
    "time zones and late events. Make them idempotent, make them boring, and write down how to run them."
)
DISTINCT = [
    "Chunking is a product decision: the unit you cut your documents into is the unit your system can remember, "
    "so pick it by asking what readers will quote back to you, not by copying a number from a blog post.",
    "On call taught me that an alert nobody acts on is a bug in the alert. Every page should say what broke, "
    "for whom, and what the person holding the phone is expected to do about it before they go back to sleep.",
    "My sourdough starter is called Gerald and he is seven years old. He lives in the fridge, eats rye flour on "
    "Sundays, and has outlived two flats, one job and a very optimistic attempt at a standing desk.",
]


NEAR_COPIES = [  # exact 5-word-shingle Jaccard with the original: 0.81 and 0.74
    BASE.replace("nobody puts", "no one puts").upper(),
    DISTINCT[1].replace("Every page", "Each page") + " Then sleep.",
]


def test_planted_near_duplicates_are_removed_and_distinct_texts_kept(
    make_sample: Callable[..., InstructionSample],
) -> None:
    originals = [make_sample(t, document_id=f"d{i}", extract_id=f"e{i}") for i, t in enumerate([BASE, *DISTINCT])]
    planted = [make_sample(t, instruction="Another ask.", document_id="d9", extract_id=f"p{i}") for i, t in
               enumerate(NEAR_COPIES)]  # fmt: skip
    kept, dropped = near_dedup(
        [*originals, *planted], text=lambda s: s.answer, key=lambda s: s.id, group=lambda s: s.extract_id,
        threshold=0.6, num_perm=128, shingle_words=5,
    )  # fmt: skip
    assert kept == originals and dropped == 2


def test_samples_of_one_extract_share_an_answer_without_clashing(make_sample: Callable[..., InstructionSample]) -> None:
    same = [make_sample(BASE, instruction=f"Instruction {i}", extract_id="e1") for i in range(3)]
    other = make_sample(BASE + " Really.", extract_id="e2")
    kept, dropped = near_dedup(
        [*same, other], text=lambda s: s.answer, key=lambda s: s.id, group=lambda s: s.extract_id, threshold=0.8
    )
    assert kept == same and dropped == 1


def test_exact_dedup_ignores_case_and_spacing(make_sample: Callable[..., InstructionSample]) -> None:
    a, b, c = make_sample(BASE), make_sample("  " + BASE.upper() + "\n"), make_sample(DISTINCT[0])
    kept, dropped = exact_dedup([a, b, c], key=lambda s: f"{s.instruction}\x1f{s.answer}")
    assert kept == [a, c] and dropped == 1
    assert shingles("One two three", 5) == {"one two three"} and len(shingles(BASE, 5)) > 40


def test_train_samples_overlapping_test_answers_or_eval_items_are_removed(
    make_sample: Callable[..., InstructionSample], tmp_path: Path
) -> None:
    test = [make_sample(DISTINCT[0], document_id="t1")]
    quoting_test = make_sample("As I wrote elsewhere: " + DISTINCT[0][:150], document_id="d1")
    quoting_eval = make_sample(DISTINCT[2], document_id="d2")
    clean = make_sample(BASE, document_id="d3")
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text(json.dumps({"question": "Who is Gerald?", "answer": DISTINCT[2][:140]}) + "\n")
    notes = tmp_path / "eval.txt"
    notes.write_text("An unrelated paragraph.\n\nAnother one.")
    eval_texts = load_eval_texts([eval_file, notes])
    assert eval_texts[0] == "Who is Gerald?" and len(eval_texts) == 4
    kept, dropped = decontaminate([quoting_test, quoting_eval, clean], test, n=8, eval_texts=eval_texts)
    assert kept == [clean]
    assert dropped == {"overlaps_test_split": 1, "overlaps_eval_file": 1}


def test_short_texts_have_no_ngrams_and_are_never_flagged(make_sample: Callable[..., InstructionSample]) -> None:
    assert ngrams("only five words right here", 8) == set()
    short = make_sample("A short answer that is fine.")
    kept, dropped = decontaminate([short], [make_sample("A short answer that is fine.")], n=8)
    assert kept == [short] and not dropped
