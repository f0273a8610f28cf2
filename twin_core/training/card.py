"""The model card (README.md) of a registered version: lineage, recipe, metrics, and a DEMO label when it is one."""

from __future__ import annotations

from typing import Any

import yaml

DEMO_BANNER = (
    "**This is a DEMO model.** It was fine-tuned from a tiny base model built locally from the author's text so the\n"
    "pipeline runs end to end on a CPU in minutes; its output is not meant to be good. Select a real checkpoint with\n"
    "`model=hub model.base=<hub id or path>` and a GPU recipe (`trainer=sft_lora`).\n"
)


def _metric_rows(metrics: dict[str, Any]) -> list[str]:
    rows = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            rows.append(f"| {key} | {value.get('first')} | {value.get('last')} | {value.get('points')} |")
        else:
            rows.append(f"| {key} | | {value} | |")
    return rows


def model_card(manifest: dict[str, Any], recipe_yaml: str) -> str:
    """Markdown with Hugging Face front matter, written from a version manifest."""
    demo = bool(manifest.get("demo"))
    method = manifest["method"].upper()
    base = manifest["base_model"]
    front: dict[str, Any] = {
        "library_name": "transformers",
        "tags": ["llm-twin", manifest["method"], "axolotl", *(["demo"] if demo else [])],
    }
    if base.get("hub_id"):  # the Hub accepts only repo ids here
        front["base_model"] = base["hub_id"]
    datasets = manifest.get("datasets", [])
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---"]
    source = base.get("registry") or base.get("hub_id") or base["ref"]
    title = f"{manifest['name']} {manifest['version']}: {method} of {source}"
    lines += [f"# {'DEMO model: ' if demo else ''}{title}", ""]
    lines += [DEMO_BANNER] if demo else []
    lines += ["## Lineage", ""]
    lines.append(f"- method: {method} (recipe `{manifest['recipe']}`, adapter `{manifest['adapter']}`, merged)")
    lines.append(f"- base model: `{base['ref']}`" + (f" (registry {base['registry']})" if base.get("registry") else ""))
    for ds in datasets:
        lines.append(f"- {ds['kind']} dataset: version `{ds['version']}` (manifest `{ds['manifest_id']}`)")
    git = manifest.get("git") or {}
    commit = git.get("commit", "unknown") + (" (uncommitted changes)" if git.get("dirty") else "")
    lines += [f"- code: commit `{commit}`", f"- created: {manifest.get('created_at', '')}", ""]
    lines += ["## Metrics", "", "| metric | first | last | points |", "|---|---|---|---|"]
    lines += _metric_rows(manifest.get("metrics", {}))
    lines += ["", "## Use", "", "```python", "from transformers import AutoModelForCausalLM, AutoTokenizer", ""]
    lines += ['path = "<this folder or hub repo>"', "tok = AutoTokenizer.from_pretrained(path)"]
    lines += ["model = AutoModelForCausalLM.from_pretrained(path)", "```", ""]
    lines += ["## Recipe (rendered Axolotl config)", "", "```yaml", recipe_yaml.strip(), "```", ""]
    return "\n".join(lines)
