"""lm-eval-harness suites: perplexity, generation and RAG-answer tasks rendered as YAML from the test split.

Rerun by hand: ``lm_eval --model hf --model_args pretrained=<model> --include_path <folder> --tasks twin_generation``.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from twin_core.evaluation.settings import LmEvalSettings

log = logging.getLogger("twin.evaluation.lmeval")
TASK_PERPLEXITY = "twin_perplexity"
TASK_GENERATION = "twin_generation"
TASK_RAG = "twin_rag_answers"
DATA_FILE = "test.jsonl"
UTILS = """\"\"\"Metrics of the twin_* tasks (rendered by LLM Twin).\"\"\"

from twin_core.evaluation.lmeval import process_generation as process_results  # noqa: F401
from twin_core.evaluation.lmeval import process_rag_answer as process_rag_results  # noqa: F401
"""
PERPLEXITY_KEYS = {"word_perplexity": "perplexity_word", "byte_perplexity": "perplexity_byte"}


@dataclass(frozen=True)
class TaskRow:
    """One test sample as the tasks see it: prompts rendered with the model's chat template, and the reference."""

    id: str
    prompt: str
    reference: str
    rag_prompt: str = ""


@dataclass
class LmEvalResult:
    """Metrics by leaderboard column, answers by sample id, directions of standard-task metrics, and notes."""

    metrics: dict[str, float] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    rag_answers: dict[str, str] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"])


def process_generation(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Per-sample ROUGE-L F1, and (reference, answer) pairs for lm-eval's corpus BLEU and chrF."""
    answer, reference = results[0], doc["reference"]
    return {
        "rouge_l": _rouge().score(reference, answer)["rougeL"].fmeasure,
        "bleu": (reference, answer),
        "chrf": (reference, answer),
    }


def process_rag_answer(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """Per-sample ROUGE-L F1 of the answer written from retrieved passages (ragas scores it further)."""
    return {"rouge_l": _rouge().score(doc["reference"], results[0])["rougeL"].fmeasure}


def _task(name: str, data: Path, cache: Path, **spec: Any) -> dict[str, Any]:
    return {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data)}, "cache_dir": str(cache)},
        "test_split": "test",
        "num_fewshot": 0,
        **spec,
        "metadata": {"version": 1, "rendered_by": "llm-twin"},
    }


def write_tasks(folder: Path, rows: Sequence[TaskRow], tasks: Sequence[str], max_new_tokens: int, stop: str) -> Path:
    """Render the data file, one YAML per task and ``utils.py`` into ``folder``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    data, cache = folder / DATA_FILE, folder / ".hf_cache"
    data.write_text("".join(json.dumps(r.__dict__, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (folder / "utils.py").write_text(UTILS, encoding="utf-8")
    gen = {"until": [stop], "max_gen_toks": max_new_tokens, "do_sample": False}
    mean = {"aggregation": "mean", "higher_is_better": True}
    specs = {
        TASK_PERPLEXITY: _task(
            TASK_PERPLEXITY,
            data,
            cache,
            output_type="loglikelihood_rolling",
            doc_to_text="",
            doc_to_target="{{reference}}",
            metric_list=[
                {"metric": m, "aggregation": "weighted_perplexity", "higher_is_better": False}
                for m in ("word_perplexity", "byte_perplexity")
            ]
            + [{"metric": "bits_per_byte", "aggregation": "bits_per_byte", "higher_is_better": False}],
        ),
        TASK_GENERATION: _task(
            TASK_GENERATION,
            data,
            cache,
            output_type="generate_until",
            doc_to_text="{{prompt}}",
            doc_to_target="{{reference}}",
            target_delimiter="",
            generation_kwargs=gen,
            metric_list=[
                {"metric": "rouge_l", **mean},
                {"metric": "bleu", "aggregation": "bleu", "higher_is_better": True},
                {"metric": "chrf", "aggregation": "chrf", "higher_is_better": True},
            ],
        ),
        TASK_RAG: _task(
            TASK_RAG,
            data,
            cache,
            output_type="generate_until",
            doc_to_text="{{rag_prompt}}",
            doc_to_target="{{reference}}",
            target_delimiter="",
            generation_kwargs=gen,
            metric_list=[{"metric": "rouge_l", **mean}],
        ),
    }
    for name in tasks:
        text = yaml.safe_dump(specs[name], sort_keys=False, allow_unicode=True)
        if name == TASK_GENERATION:
            text += "process_results: !function utils.process_results\n"
        elif name == TASK_RAG:
            text += "process_results: !function utils.process_rag_results\n"
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def _version() -> str:
    from importlib.metadata import version

    return version("lm_eval")


def probe_standard(manager: Any, names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Standard tasks whose data loads offline, and a plain note for each one skipped."""
    ok, notes = [], []
    for name in names:
        try:
            manager.load([name])
        except KeyError:
            notes.append(f"standard lm-eval task {name!r} skipped: lm-eval {_version()} has no task of that name")
            continue
        except Exception as exc:
            first = str(exc).splitlines()[0][:160] if str(exc) else ""
            notes.append(
                f"standard lm-eval task {name!r} skipped: its dataset is not available locally "
                f"({type(exc).__name__}: {first})"
            )
            continue
        ok.append(name)
    return ok, notes


def _answer(sample: dict[str, Any]) -> str:
    resp = sample.get("filtered_resps") or sample.get("resps") or [""]
    while isinstance(resp, list):
        resp = resp[0] if resp else ""
    return str(resp).strip()


def parse(out: dict[str, Any], custom: Sequence[str]) -> LmEvalResult:
    """Leaderboard columns from lm-eval's results: ours by name, standard tasks as ``<task>_<metric>``."""
    res = LmEvalResult()
    higher = out.get("higher_is_better", {})
    for task, values in out.get("results", {}).items():
        for key, value in values.items():
            metric, _, filt = key.partition(",")
            if not filt or metric.endswith("_stderr") or not isinstance(value, int | float) or math.isnan(value):
                continue
            if task == TASK_PERPLEXITY:
                res.metrics[PERPLEXITY_KEYS.get(metric, metric)] = float(value)
            elif task == TASK_GENERATION:
                res.metrics[metric] = float(value)
            elif task == TASK_RAG:
                res.metrics["rag_rouge_l"] = float(value)
            elif task not in custom:
                column = f"{task}_{metric}" + ("" if filt == "none" else f"_{filt}")
                res.metrics[column] = float(value)
                way = higher.get(task, {}).get(metric)
                if way is not None:
                    res.directions[column] = "higher" if way else "lower"
    samples = out.get("samples", {})
    res.answers = {s["doc"]["id"]: _answer(s) for s in samples.get(TASK_GENERATION, [])}
    res.rag_answers = {s["doc"]["id"]: _answer(s) for s in samples.get(TASK_RAG, [])}
    return res


def run(
    model_path: str,
    folder: Path,
    rows: Sequence[TaskRow],
    tasks: Sequence[str],
    settings: LmEvalSettings,
    *,
    stop: str,
    seed: int = 0,
) -> LmEvalResult:
    """Evaluate a local model folder on our tasks (and any standard task whose data is local) in one harness call."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    write_tasks(folder, rows, tasks, settings.max_new_tokens, stop)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    manager = TaskManager(include_path=str(folder), include_defaults=bool(settings.standard_tasks))
    standard, notes = probe_standard(manager, settings.standard_tasks)
    for note in notes:
        log.warning(note)
    wanted = [*tasks, *standard]
    if not wanted:
        return LmEvalResult(notes=notes)
    limit = max(settings.standard_limit or 0, len(rows)) if standard and settings.standard_limit else None
    try:
        out = lm_eval.simple_evaluate(
            model="hf",
            model_args={"pretrained": model_path, "dtype": settings.dtype},
            tasks=wanted,
            device=settings.device,
            batch_size=settings.batch_size,
            task_manager=manager,
            num_fewshot=settings.num_fewshot,
            limit=limit,
            bootstrap_iters=0,
            log_samples=True,
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
    finally:
        shutil.rmtree(folder / ".hf_cache", ignore_errors=True)
    summary = {k: v for k, v in (out or {}).items() if k in ("results", "higher_is_better", "n-samples", "versions")}
    (folder / "results.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    result = parse(out or {}, tasks)
    result.notes = notes
    return result
