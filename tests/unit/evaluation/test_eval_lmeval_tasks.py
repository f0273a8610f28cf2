"""The lm-eval tasks rendered from the test split: YAML the harness loads, our metric function, results parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_core.evaluation import lmeval
from twin_core.evaluation.lmeval import TaskRow, parse, process_generation, write_tasks

ROWS = [TaskRow(f"s{i}", f"<|im_start|>user\nQ{i}<|im_end|>\n", f"Answer {i}.", f"ctx Q{i}") for i in range(3)]
ALL = [lmeval.TASK_PERPLEXITY, lmeval.TASK_GENERATION, lmeval.TASK_RAG]


def test_process_generation_scores_rouge_l_and_passes_pairs_to_corpus_metrics() -> None:
    out = process_generation({"reference": "the cat sat"}, ["the cat"])
    assert out["rouge_l"] == pytest.approx(0.8)  # LCS 2: precision 1, recall 2/3
    assert out["bleu"] == ("the cat sat", "the cat") == out["chrf"]


def test_rendered_tasks_load_in_the_harness(tmp_path: Path) -> None:
    from lm_eval.tasks import TaskManager

    folder = write_tasks(tmp_path / "tasks", ROWS, ALL, max_new_tokens=16, stop="<|im_end|>")
    assert sorted(p.name for p in folder.glob("*.yaml")) == sorted(f"{t}.yaml" for t in ALL)
    assert "process_results: !function utils.process_results" in (folder / f"{lmeval.TASK_GENERATION}.yaml").read_text()
    manager = TaskManager(include_path=str(folder), include_defaults=False)
    assert set(ALL) <= set(manager.all_tasks)
    tasks = manager.load([lmeval.TASK_GENERATION, lmeval.TASK_PERPLEXITY])["tasks"]
    gen = tasks[lmeval.TASK_GENERATION]
    docs = list(gen.test_docs())
    assert [d["id"] for d in docs] == ["s0", "s1", "s2"]
    assert gen.doc_to_text(docs[1]) == ROWS[1].prompt and gen.doc_to_target(docs[1]) == "Answer 1."
    assert (
        gen.config.generation_kwargs["until"] == ["<|im_end|>"] and gen.config.generation_kwargs["max_gen_toks"] == 16
    )
    assert tasks[lmeval.TASK_PERPLEXITY].config.output_type == "loglikelihood_rolling"


def test_parse_maps_harness_results_to_leaderboard_columns() -> None:
    out = {
        "results": {
            lmeval.TASK_PERPLEXITY: {"word_perplexity,none": 40.0, "byte_perplexity,none": 2.0,
                                     "bits_per_byte,none": 1.0, "word_perplexity_stderr,none": "N/A", "alias": "x"},
            lmeval.TASK_GENERATION: {"rouge_l,none": 0.2, "bleu,none": 3.5, "chrf,none": 20.0, "sample_len": 3},
            "arc_easy": {"acc,none": 0.25, "acc_norm,none": 0.3, "acc_stderr,none": 0.01},
        },
        "higher_is_better": {"arc_easy": {"acc": True, "acc_norm": True}},
        "samples": {lmeval.TASK_GENERATION: [{"doc": {"id": "s0"}, "filtered_resps": [" Hi there "]}]},
    }  # fmt: skip
    res = parse(out, ALL)
    assert res.metrics == {
        "perplexity_word": 40.0, "perplexity_byte": 2.0, "bits_per_byte": 1.0, "rouge_l": 0.2, "bleu": 3.5,
        "chrf": 20.0, "arc_easy_acc": 0.25, "arc_easy_acc_norm": 0.3,
    }  # fmt: skip
    assert res.directions == {"arc_easy_acc": "higher", "arc_easy_acc_norm": "higher"}
    assert res.answers == {"s0": "Hi there"}


def test_missing_standard_tasks_are_skipped_with_a_plain_message() -> None:
    class Manager:
        def load(self, names: list[str]) -> dict:
            if names == ["hellaswag"]:
                raise ConnectionError("Couldn't reach 'Rowan/hellaswag' on the Hub (LocalEntryNotFoundError)")
            if names == ["helaswag"]:
                raise KeyError("Spec 'helaswag' is not a registered task/group/tag name or valid YAML path")
            return {"tasks": {names[0]: object()}}

    ok, notes = lmeval.probe_standard(Manager(), ["hellaswag", "local_task", "helaswag"])
    assert ok == ["local_task"]
    assert notes == [
        "standard lm-eval task 'hellaswag' skipped: its dataset is not available locally "
        "(ConnectionError: Couldn't reach 'Rowan/hellaswag' on the Hub (LocalEntryNotFoundError))",
        "standard lm-eval task 'helaswag' skipped: lm-eval 0.4.13 has no task of that name",
    ]
