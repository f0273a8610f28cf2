"""Evaluate one model on the test set with the chosen suites; results are cached beside the model by input hash."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin_core.evaluation import lmeval
from twin_core.evaluation.judge import JudgeItem, judge_answers
from twin_core.evaluation.models import EvalModel
from twin_core.evaluation.style import style_metrics
from twin_core.evaluation.testset import EvalSet, rag_messages, references
from twin_core.llm.chat import load_chat_tokenizer, render_chat
from twin_core.llm.client import LLMClient

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.evaluation")
RESULT_FORMAT = 1
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Context:
    """What every model's evaluation shares in one run."""

    cfg: TwinSettings
    test: EvalSet
    suites: frozenset[str]
    run_dir: Path
    embed: Embed
    judge: LLMClient | None = None


def cache_key(ctx: Context, model: EvalModel) -> str:
    """A hash of everything that decides a model's results: weights, data, suites and their settings."""
    ev = ctx.cfg.evaluation
    judge = ev.judge.model_dump(mode="json", include={"provider", "model", "base_url"}) if ev.judge else None
    blob = {
        "format": RESULT_FORMAT,
        "model": model.identity,
        "data": ctx.test.signature(),
        "suites": sorted(ctx.suites),
        "lmeval": ev.lmeval.model_dump(mode="json"),
        "judge": judge,
        "judging": ev.judging.model_dump(mode="json", include={"max_tokens", "retries"}),
        "rag": ev.rag.model_dump(mode="json"),
        "embedding": ctx.cfg.embedding.model_id,
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]


def cache_path(ctx: Context, model: EvalModel, key: str) -> Path:
    """Registry versions keep their results in ``<version>/eval/``; the base model under ``reports_dir/eval/cache``."""
    if model.name:
        return Path(model.path) / "eval" / f"results-{key}.json"
    return ctx.cfg.paths.reports_dir / "eval" / "cache" / f"{model.label}-{key}.json"


def task_rows(model: EvalModel, ctx: Context) -> tuple[list[lmeval.TaskRow], str]:
    """Prompts rendered with the model's own chat template (as in training), and its stop string."""
    tokenizer = load_chat_tokenizer(model.path)
    rag = "rag" in ctx.suites
    rows = [
        lmeval.TaskRow(
            s.id,
            render_chat(tokenizer, s.prompt, add_generation_prompt=True),
            s.reference,
            render_chat(tokenizer, rag_messages(s), add_generation_prompt=True) if rag else "",
        )
        for s in ctx.test.samples
    ]
    return rows, str(tokenizer.eos_token or "<|im_end|>")


def _tasks(suites: frozenset[str]) -> list[str]:
    tasks = [lmeval.TASK_PERPLEXITY] if "perplexity" in suites else []
    if suites & {"generation", "style", "judge"}:
        tasks.append(lmeval.TASK_GENERATION)
    if "rag" in suites:
        tasks.append(lmeval.TASK_RAG)
    return tasks


def _judge(ctx: Context, answers: dict[str, str], out: dict[str, Any]) -> None:
    assert ctx.judge is not None
    items = [JudgeItem(s.id, s.instruction, s.reference, answers.get(s.id, "")) for s in ctx.test.samples]
    report = judge_answers(ctx.judge, items, ctx.cfg.evaluation.judging)
    out["metrics"].update(report.metrics)
    out["judge"] = {"verdicts": report.verdicts, "failures": [f.model_dump() for f in report.failures]}
    for f in report.failures:
        log.warning("judge could not grade %s after %d attempts: %s", f.item_id, f.attempts, f.error)


def _rag(ctx: Context, answers: dict[str, str], out: dict[str, Any]) -> None:
    from twin_core.evaluation.rag_metrics import RagRecord, score

    assert ctx.judge is not None
    records = [RagRecord(s.id, s.instruction, s.contexts, answers.get(s.id, ""), s.reference) for s in ctx.test.samples]
    judge = ctx.cfg.evaluation.judge
    metrics, rows = score(
        records,
        ctx.judge,
        ctx.embed,
        ctx.cfg.evaluation.rag,
        concurrency=judge.concurrency if judge else 4,
        max_tokens=max(judge.max_tokens if judge else 0, 1024),
    )
    out["metrics"].update(metrics)
    out["rag"] = {"rows": rows, "answers": answers}


def evaluate_model(ctx: Context, model: EvalModel) -> dict[str, Any]:
    """Run the suites on one model (or reuse its cached results for identical inputs)."""
    key = cache_key(ctx, model)
    path = cache_path(ctx, model, key)
    if ctx.cfg.evaluation.use_cache and path.is_file():
        log.info("%s: reusing results for identical inputs", model.label, extra={"cache": str(path)})
        return {**json.loads(path.read_text()), "cached": True}
    started = time.perf_counter()
    ev = ctx.cfg.evaluation
    rows, stop = task_rows(model, ctx)
    folder = ctx.run_dir / "models" / model.label.replace("/", "-") / "lmeval"
    lm = lmeval.run(model.path, folder, rows, _tasks(ctx.suites), ev.lmeval, stop=stop, seed=ctx.cfg.seed)
    out: dict[str, Any] = {
        "model": model.label,
        "identity": model.identity,
        "key": key,
        "metrics": dict(lm.metrics),
        "directions": dict(lm.directions),
        "answers": lm.answers,
        "notes": list(lm.notes),
    }
    if "style" in ctx.suites:
        answers = [lm.answers.get(s.id, "") for s in ctx.test.samples]
        out["metrics"].update(style_metrics(answers, references(ctx.test.samples), ctx.embed))
    if "judge" in ctx.suites and ctx.judge is not None:
        _judge(ctx, lm.answers, out)
    if "rag" in ctx.suites and ctx.judge is not None:
        _rag(ctx, lm.rag_answers, out)
    out["evaluated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    out["duration_s"] = round(time.perf_counter() - started, 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return {**out, "cached": False}
