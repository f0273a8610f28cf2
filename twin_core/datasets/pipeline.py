"""The dataset step: cleaned documents -> instruction and preference datasets, versioned, with manifest and card."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from twin_core.datasets import artifacts as art
from twin_core.datasets.builder import Built, build_instruction_set, build_preference_set
from twin_core.datasets.card import render_card
from twin_core.datasets.explore import length_histogram, map_plot, project_2d, top_topics
from twin_core.datasets.feedback import add_feedback_pairs, feedback_version, load_feedback
from twin_core.datasets.render import features, instruction_row, preference_row
from twin_core.domain.documents import CleanedDocument
from twin_core.domain.results import StepResult
from twin_core.llm.chat import load_chat_tokenizer
from twin_core.llm.client import LLMClient, make_client
from twin_core.warehouse import connect

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.datasets")


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields ``advance(n)``."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _embedder(cfg: TwinSettings) -> Callable[[Sequence[str]], np.ndarray] | None:
    """The embedding group's model for the card's map (memoised per text), or None when not wanted."""
    if cfg.dataset.explore.embedding != "auto":
        return None
    cache: dict[str, np.ndarray] = {}

    def embed(texts: Sequence[str]) -> np.ndarray:
        from twin_core.features.embedding import Embedder

        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        if todo:
            cache.update(zip(todo, Embedder(cfg.embedding).embed(todo), strict=True))
        return np.stack([cache[t] for t in texts])

    return embed


def _explore(kind: str, rows: list[dict[str, Any]], cfg: TwinSettings, folder: Path, embed: Any) -> dict[str, Any]:
    s = cfg.dataset.explore
    texts = [r["answer" if kind == "instruction" else "chosen"] for r in rows]
    if kind == "instruction":
        series = {"instruction": [len(r["instruction"]) for r in rows], "answer": [len(t) for t in texts]}
    else:
        series = {"chosen": [len(t) for t in texts], "rejected": [len(r["rejected"]) for r in rows]}
    length_histogram(folder / "lengths.png", series, f"{kind} dataset: lengths")
    coords, used = project_2d(texts, s.embedding, cfg.dataset.seed, embed)
    colours = {"category": [r["category"] for r in rows], "platform": [r["platform"] for r in rows]}
    map_plot(folder / "map.png", coords, colours, f"{kind} samples")
    by_category = {
        c: top_topics([t for t, r in zip(texts, rows, strict=True) if r["category"] == c], 5)
        for c in sorted(set(colours["category"]))
    }
    return {"map_method": used, "topics": top_topics(texts, s.top_topics), "topics_by_category": by_category}


def write_kind(
    cfg: TwinSettings, kind: str, built: Built, ctx: dict[str, Any], tokenizer: Any, embed: Any
) -> dict[str, Any]:
    """Save one dataset kind (splits, plots, manifest, card) in a staging folder, then publish it."""
    from datasets import Dataset, DatasetDict, disable_progress_bars, enable_progress_bars

    s, version, artifacts_dir = cfg.dataset, ctx.get("versions", {}).get(kind, ctx["version"]), cfg.paths.artifacts_dir
    to_row = instruction_row if kind == "instruction" else preference_row
    splits = {name: [to_row(x, tokenizer, s.system_prompt) for x in part] for name, part in
              (("train", built.train), ("test", built.test))}  # fmt: skip
    staging = art.staging_dir(artifacts_dir, kind, version)
    schema = features(kind)
    dsd = DatasetDict(
        {
            name: Dataset.from_dict({c: [r[c] for r in rows] for c in schema}, features=schema)
            for name, rows in splits.items()
        }
    )
    disable_progress_bars()
    try:
        dsd.save_to_disk(str(staging))
    finally:
        enable_progress_bars()
    final = art.kind_dir(artifacts_dir, kind) / version
    failures = {stage: [f.model_dump() for f in fs] for stage, fs in built.failures.items()}
    manifest = {
        "id": f"dataset:{kind}:{version}",
        "kind": kind,
        "version": version,
        "created_at": art.now_iso(),
        "path": str(final),
        "generator": s.generator,
        "seed": s.seed,
        "config": ctx["config"],
        "sources": ctx["sources"],
        "funnel": built.funnel.as_list(),
        "splits": {name: len(rows) for name, rows in splits.items()},
        "test_documents": built.test_documents,
        "failure_counts": {stage: len(fs) for stage, fs in failures.items() if fs},
        "failures": [dict(f, stage=stage) for stage, fs in failures.items() for f in fs],
        **({"feedback": ctx["feedback_stats"]} if kind == "preference" and "feedback_stats" in ctx else {}),
        "exploration": _explore(kind, splits["train"] + splits["test"], cfg, staging, embed),
        "files": ["dataset_dict.json", "train/", "test/", "README.md", "lengths.png", "map.png"],
    }
    art.write_json(staging / "manifest.json", manifest)
    examples = splits["train"][: s.explore.examples]
    (staging / "README.md").write_text(render_card(manifest, examples, ctx["author"]), encoding="utf-8")
    path = art.publish(staging, artifacts_dir, kind, version)
    url = art.push_to_hub(dsd, path, s.push_to_hub, kind)
    if url:
        manifest["hub"] = url
    log.info("dataset %s %s: train=%d test=%d at %s", kind, version, len(built.train), len(built.test), path)
    return manifest


def build_all(cfg: TwinSettings, docs: list[CleanedDocument], tokenizer: Any, ctx: dict[str, Any]) -> dict[str, Any]:
    """Generate, curate and write every dataset kind; the LLM client is made only if a stage needs it."""
    s = cfg.dataset
    client: Callable[[], LLMClient] = functools.cache(lambda: make_client(cfg.llm))
    try:
        instructions, _ = build_instruction_set(docs, s, client, progress_bar)
        built = {"instruction": instructions}
        if s.preference.enabled:
            built["preference"] = build_preference_set(instructions, s, client(), cfg.llm.model, progress_bar)
            ctx["feedback_stats"] = add_feedback_pairs(
                built["preference"], ctx.get("feedback", []), s, client, cfg.llm.model, progress_bar
            )
    finally:
        if client.cache_info().currsize:  # type: ignore[attr-defined]
            client().close()
    embed = _embedder(cfg)
    found = {k: m for k, m in ctx.get("found", {}).items() if m and not s.force}  # e.g. only the feedback changed
    for kind, m in found.items():
        art.point_latest(cfg.paths.artifacts_dir, kind, m["version"])
    return {kind: found.get(kind) or write_kind(cfg, kind, b, ctx, tokenizer, embed) for kind, b in built.items()}


def _result(manifests: dict[str, dict[str, Any]], version: str, unchanged: bool) -> StepResult:
    counts: dict[str, int] = {}
    artifacts: dict[str, str] = {}
    for kind, m in manifests.items():
        counts["documents"] = len(m["sources"])
        counts.update({f"{kind}_{split}": n for split, n in m["splits"].items()})
        counts[f"{kind}_failures"] = len(m["failures"])
        if kind == "preference":
            counts.update({k: m.get("feedback", {}).get(k, 0) for k in ("feedback_pairs", "feedback_unpaired")})
        artifacts[kind] = m["path"]
        artifacts[f"{kind}_card"] = str(Path(m["path"]) / "README.md")
    funnels = {kind: m["funnel"] for kind, m in manifests.items()}
    state = "unchanged" if unchanged else "built"
    return StepResult(
        step="dataset",
        counts=counts,
        artifacts=artifacts,
        details={
            "version": version,
            "versions": {kind: m["version"] for kind, m in manifests.items()},
            "unchanged": unchanged,
            "funnel": funnels,
        },
        message=f"version {version} ({state})",
    )


def _base_tokenizer(cfg: TwinSettings) -> Any:
    """The base model's tokenizer (its chat template renders every sample); a clear error when it is missing."""
    base = cfg.model.base
    if cfg.model.demo and not Path(base).exists():
        raise FileNotFoundError(
            f"model.base: the demo base model {base} does not exist yet; build it first "
            "(twin_core.training.demo_model) or choose a real one: twin model=hub model.base=<id or path>"
        )
    return load_chat_tokenizer(base, cfg.model.chat_template)


def run_dataset(cfg: TwinSettings) -> StepResult:
    """Build (or find) the datasets of the current cleaned documents and config; idempotent per version."""
    s = cfg.dataset
    with connect(cfg.warehouse) as wh:
        docs = wh.find_cleaned()
        if not docs:
            return StepResult(step="dataset", ok=False, message="no cleaned documents: run `twin pipeline=feature`")
        tokenizer = _base_tokenizer(cfg)
        sources = art.source_records(docs)
        config = art.composed_config(cfg, tokenizer.chat_template)
        version = art.dataset_version(config, sources)
        kinds = art.KINDS if s.preference.enabled else art.KINDS[:1]
        feedback = load_feedback(wh) if s.preference.enabled else []
        versions = {"instruction": version, "preference": feedback_version(version, feedback)}  # feedback: DPO only
        found = {k: art.existing(cfg.paths.artifacts_dir, k, versions[k]) for k in kinds}
        unchanged = all(found.values()) and not s.force
        if unchanged:
            log.info("dataset version %s exists for these documents and config: nothing to rebuild", version)
            manifests = {k: m for k, m in found.items() if m}
            for kind in manifests:
                art.point_latest(cfg.paths.artifacts_dir, kind, versions[kind])
        else:
            author = Counter(d.author_name for d in docs).most_common(1)[0][0]
            ctx = {"version": version, "versions": versions, "config": config, "sources": sources, "author": author,
                   "feedback": feedback, "found": found}  # fmt: skip
            log.info("dataset version %s: building from %d documents", version, len(docs))
            manifests = build_all(cfg, docs, tokenizer, ctx)
        for manifest in manifests.values():
            art.record_version(wh, manifest, Path(manifest["path"]))
    return _result(manifests, version, unchanged)
