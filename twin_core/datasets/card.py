"""The dataset card (README.md): counts, the filter funnel, examples, plots and topics, in Hugging Face form."""

from __future__ import annotations

from typing import Any

TITLES = {"instruction": "Instruction dataset (SFT)", "preference": "Preference dataset (DPO)"}
COLUMNS = {
    "instruction": "`instruction`, `answer` (the author's passage), `messages`, `text` (rendered with the base "
    "model's chat template), `document_id`, `extract_id`, `category`, `platform`, `source`, `generator`, "
    "`judge_score`, `judge_reason`",
    "preference": "`instruction`, `prompt` (rendered up to the answer), `chosen` (the author's passage, or "
    "an approved/edited API answer when `source` is `feedback`), `rejected` (the LLM's generic answer, or the "
    "rejected/original API answer), `messages` and `text` (the chosen conversation), `document_id`, `extract_id`, "
    "`category`, `platform`, `source`, `generator`, `rejected_model`",
}


def _quote(text: str, limit: int = 500) -> str:
    text = text.strip()
    text = text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _funnel(stages: list[dict[str, Any]]) -> list[str]:
    lines = ["| stage | before | after | dropped (reasons) |", "|---|---:|---:|---|"]
    for st in stages:
        why = ", ".join(f"{k}: {v}" for k, v in st["dropped"].items()) or "-"
        lines.append(f"| {st['stage']} | {st['before']} | {st['after']} | {_cell(why)} |")
    return lines


def _examples(kind: str, rows: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for i, row in enumerate(rows, 1):
        out += [f"**{i}. ({row['category']}, {row['platform']})** instruction: {_cell(row['instruction'])}", ""]
        if kind == "instruction":
            out += ["answer:", "", _quote(row["answer"]), ""]
        else:
            out += ["chosen:", "", _quote(row["chosen"], 300), "", "rejected:", "", _quote(row["rejected"], 300), ""]
    return out or ["(no samples)"]


def render_card(manifest: dict[str, Any], examples: list[dict[str, Any]], author: str) -> str:
    """Markdown for the card of one dataset version."""
    kind, version, splits = manifest["kind"], manifest["version"], manifest["splits"]
    explore = manifest["exploration"]
    topics = ", ".join(f"{t} ({w:.1f})" for t, w in explore["topics"]) or "(none)"
    per_category = [f"- **{c}**: {', '.join(t for t, _ in ts)}" for c, ts in explore["topics_by_category"].items()]
    failures = manifest["failure_counts"]
    failure_text = ", ".join(f"{k}: {v}" for k, v in failures.items()) or "none"
    lines = [
        "---",
        f"pretty_name: LLM Twin {kind} dataset ({author})",
        "task_categories: [text-generation]",
        "language: [en]",
        f"tags: [llm-twin, {'sft' if kind == 'instruction' else 'dpo'}]",
        f"size_categories: [{'n<1K' if sum(splits.values()) < 1000 else '1K<n<10K'}]",
        "---",
        "",
        f"# {TITLES[kind]}: {author}, version `{version}`",
        "",
        f"Built by `twin pipeline=dataset` on {manifest['created_at']} from {len(manifest['sources'])} cleaned "
        f"documents of {author}'s writing (generator: **{manifest['generator']}**, seed {manifest['seed']}). "
        "Samples are rendered with the base model's own chat template, the one training and serving use.",
        "",
        "## Splits",
        "",
        "| split | samples |",
        "|---|---:|",
        *(f"| {name} | {n} |" for name, n in splits.items()),
        "",
        f"The test split holds {len(manifest['test_documents'])} whole documents: no document is in both splits.",
        "",
        "## Counts before and after every filter",
        "",
        *_funnel(manifest["funnel"]),
        "",
        f"Generation failures (recorded per sample in `manifest.json`): {failure_text}.",
        "",
        "## Lengths",
        "",
        "![length histogram](lengths.png)",
        "",
        "## What the twin will learn",
        "",
        f"2-D map of the samples ({explore['map_method']}), coloured by category and by platform:",
        "",
        "![2-D map of samples](map.png)",
        "",
        f"Most frequent topics (summed TF-IDF weight): {topics}",
        "",
        *per_category,
        "",
        "## Examples (train)",
        "",
        *_examples(kind, examples),
        "## Columns",
        "",
        COLUMNS[kind],
        "",
        "## Use",
        "",
        "```python",
        "from datasets import load_from_disk",
        f'ds = load_from_disk("{manifest["path"]}")',
        "```",
        "",
    ]
    return "\n".join(lines)
