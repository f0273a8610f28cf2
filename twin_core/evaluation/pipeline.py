"""The eval step: evaluate base, SFT/DPO versions and production, write the leaderboard, then run the gate."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.table import Table

from twin_core.domain.results import StepResult
from twin_core.evaluation import leaderboard
from twin_core.evaluation.gate import GateDecision, decide
from twin_core.evaluation.judge import PairItem, compare_answers
from twin_core.evaluation.model_eval import Context, evaluate_model
from twin_core.evaluation.models import Selection, select
from twin_core.evaluation.testset import load_test_set, with_contexts
from twin_core.llm.client import make_client
from twin_core.training.steps import open_registry

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings
    from twin_core.llm.client import LLMClient

log = logging.getLogger("twin.evaluation")
console = Console(stderr=True)


def _embedder(cfg: TwinSettings) -> Any:
    """The embedding group's model, memoised per text (answers and references are embedded once per run)."""
    cache: dict[str, np.ndarray] = {}

    def embed(texts: Sequence[str]) -> np.ndarray:
        from twin_core.features.embedding import Embedder

        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        if todo:
            cache.update(zip(todo, Embedder(cfg.embedding).embed(todo), strict=True))
        return np.stack([cache[t] for t in texts]) if texts else np.zeros((0, cfg.embedding.dimension))

    return embed


def _pairwise(ctx: Context, sel: Selection, results: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Judge the candidate's answers against production's, sample by sample."""
    opts = ctx.cfg.evaluation.judging
    if not (ctx.judge and "judge" in ctx.suites and opts.pairwise and sel.candidate and sel.production):
        return None
    if sel.candidate.label == sel.production.label:
        return None
    cand, prod = results[sel.candidate.label]["answers"], results[sel.production.label]["answers"]
    items = [
        PairItem(s.id, s.instruction, s.reference, cand.get(s.id, ""), prod.get(s.id, "")) for s in ctx.test.samples
    ]
    report = compare_answers(ctx.judge, items, opts)
    results[sel.candidate.label]["metrics"].update(report.metrics)
    return {"verdicts": report.verdicts, "failures": [f.model_dump() for f in report.failures]}


def _gate(cfg: TwinSettings, sel: Selection, board: leaderboard.Leaderboard) -> GateDecision:
    """Decide, and move the production tag when the decision says so and the gate may."""
    cand, prod = sel.candidate, sel.production
    row = lambda m: board.row(m.label).metrics if m and board.row(m.label) else {}  # noqa: E731
    decision = decide(
        cand.label if cand else None,
        row(cand),
        prod.label if prod else None,
        row(prod),
        cfg.evaluation.gate,
        board.directions,
    )
    if decision.promote and cand and cand.name and cand.version:
        if cfg.evaluation.gate.promote:
            open_registry(cfg).promote(cand.name, cand.version, "production")
            decision.applied = True
        else:
            decision.reason += " (gate.promote is false: production tag not moved)"
    return decision


def _restage(board: leaderboard.Leaderboard, decision: GateDecision) -> None:
    """After a promotion, the rows show the new production (and which one it replaced)."""
    if not decision.applied:
        return
    for row in board.rows:
        tags = [t.strip() for t in row.stage.split(",") if t.strip()]
        if row.model == decision.candidate:
            tags = [*dict.fromkeys([*tags, "production"])]
        elif row.model == decision.production:
            tags = [("previous production" if t == "production" else t) for t in tags]
        row.stage = ", ".join(tags)


def _print(board: leaderboard.Leaderboard, decision: GateDecision, notes: list[str]) -> None:
    """The leaderboard transposed for a terminal (metrics as rows), the notes, and the gate's decision."""
    table = Table(title=f"Evaluation leaderboard ({board.meta.get('samples', '?')} held-out samples)")
    table.add_column("metric")
    for r in board.rows:
        table.add_column(r.model + (f"\n({r.stage})" if r.stage else ""), justify="right")
    for c in board.columns:
        top = leaderboard.best(board, c)
        cells = [
            ("[bold green]" if r.metrics.get(c) == top else "") + (f"{r.metrics[c]:.4g}" if c in r.metrics else "–")
            for r in board.rows
        ]
        table.add_row(f"{c} {leaderboard.ARROW.get(board.directions.get(c, ''), '')}", *cells)
    console.print(table)
    for note in notes:
        console.print(f"[yellow]note:[/] {note}")
    verdict = "PROMOTED" if decision.applied else ("promote" if decision.promote else "kept production")
    console.print(f"gate: {verdict}: {decision.reason}")


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def run_eval(cfg: TwinSettings) -> StepResult:
    """Evaluate every selected model, write the leaderboard (reports + registry) and record the gate's decision."""
    ev = cfg.evaluation
    test = load_test_set(cfg.paths.artifacts_dir, ev.dataset_version, ev.max_samples)
    suites, notes = set(ev.suites), []
    if ev.judge is None and suites & {"judge", "rag"}:
        notes.append("judge and rag suites skipped: no judge configured (e.g. evaluation/judge=openai)")
        suites -= {"judge", "rag"}
    if "rag" in suites:
        test, note = with_contexts(cfg, test, ev.rag.top_k)
        if note:
            notes.append(note)
            suites.discard("rag")
    sel = select(cfg)
    notes.extend(sel.notes)
    if not sel.models:
        raise FileNotFoundError("nothing to evaluate: no base model and no registered version (run pipeline=train)")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = cfg.paths.reports_dir / "eval" / stamp
    judge: LLMClient | None = make_client(ev.judge) if ev.judge and suites & {"judge", "rag"} else None
    ctx = Context(cfg, test, frozenset(suites), run_dir, _embedder(cfg), judge)
    results: dict[str, dict[str, Any]] = {}
    try:
        for i, model in enumerate(sel.models, 1):
            console.print(f"eval [{i}/{len(sel.models)}] {model.label} ({', '.join(sorted(suites))}) ...")
            results[model.label] = evaluate_model(ctx, model)
            notes.extend(n for n in results[model.label].get("notes", []) if n not in notes)
        pairwise = _pairwise(ctx, sel, results)
    finally:
        if judge is not None:
            judge.close()
    directions = {k: v for r in results.values() for k, v in r.get("directions", {}).items()}
    rows = [
        leaderboard.Row(
            model=m.label,
            kind=m.kind,
            stage=", ".join(m.stages),
            path=m.path,
            metrics=results[m.label]["metrics"],
            cached=results[m.label]["cached"],
        )
        for m in sel.models
    ]
    board = leaderboard.build(
        rows,
        directions,
        run=stamp,
        dataset=f"instruction {test.dataset_version}",
        samples=len(test.samples),
        suites=", ".join(sorted(suites)),
    )
    decision = _gate(cfg, sel, board)
    _restage(board, decision)
    files = leaderboard.write(board, run_dir)
    for f in files.values():
        shutil.copy2(f, cfg.paths.reports_dir / "eval" / f.name)
    gate_file = _write(run_dir / "gate.json", decision.model_dump(mode="json"))
    failures = {label: r.get("judge", {}).get("failures", []) for label, r in results.items()}
    if pairwise:
        _write(run_dir / "pairwise.json", pairwise)
        failures["pairwise"] = pairwise["failures"]
    _write(run_dir / "judge_failures.json", failures)
    artifacts = {
        "run_dir": str(run_dir),
        **{f"leaderboard_{k}": str(v) for k, v in files.items()},
        "gate": str(gate_file),
    }
    if sel.candidate and sel.candidate.name:
        beside = Path(sel.candidate.path) / "eval"
        for f in [*files.values(), gate_file]:
            beside.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, beside / f.name)
        artifacts["registry_eval"] = str(beside)
    _print(board, decision, notes)
    n_fail = sum(len(v) for v in failures.values())
    return StepResult(
        step="eval",
        message=f"{len(rows)} model(s) on {len(test.samples)} samples; gate: {decision.reason}",
        counts={
            "models": len(rows),
            "samples": len(test.samples),
            "cached": sum(r.cached for r in rows),
            "judge_failures": n_fail,
            "promoted": int(decision.applied),
        },
        metrics={f"{r.model}:{c}": v for r in board.rows for c, v in r.metrics.items() if c in board.columns},
        artifacts=artifacts,
        details={
            "candidate": decision.candidate,
            "production": decision.candidate if decision.applied else decision.production,
            "gate": decision.model_dump(mode="json"),
            "leaderboard_md": leaderboard.to_markdown(board),
            "suites": sorted(suites),
            "notes": notes,
        },
    )
