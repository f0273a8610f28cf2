"""``twin pipeline=dataset`` end to end on a montydb warehouse of demo-corpus documents and a tiny random base model."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.datasets.decontam import ngrams
from twin_core.domain.documents import CleanedDocument
from twin_core.llm.fake_server import ScriptedChatServer, first_user_message
from twin_core.pipeline.runner import run_pipeline
from twin_core.warehouse import connect

pytestmark = pytest.mark.integration
FAST = ["dataset.explore.embedding=tfidf", "llm.max_tokens=48", "dataset.preference.max_length_ratio=60"]


def _seed(cfg: Any, docs: list[CleanedDocument]) -> None:
    with connect(cfg.warehouse) as wh:
        wh.upsert_cleaned(docs)


def _planted_copy(docs: list[CleanedDocument]) -> CleanedDocument:
    """A LinkedIn post re-shared later with one word changed: a near duplicate."""
    post = next(d for d in docs if d.platform == "linkedin" and "idempotency" in d.link)
    return post.model_copy(
        update={
            "id": "planted-copy",
            "link": post.link + "-zz-reshare",
            "content": post.content.replace("the ", "a ", 1),
        }
    )


def _load(path: str) -> Any:
    from datasets import load_from_disk

    return load_from_disk(path)


def test_run_dataset_end_to_end_and_idempotent(
    make_settings: Callable[..., Any], demo_docs: list[CleanedDocument], tiny_base: Path, tmp_path: Path
) -> None:
    article = next(d for d in demo_docs if d.platform == "medium")
    planted_eval = " ".join(article.content.split()[40:80])  # an eval item copied from an article
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text(json.dumps({"question": "What did the author say?", "answer": planted_eval}) + "\n")
    overrides = [
        "pipeline=dataset", f"model.base={tiny_base}", f"dataset.decontamination.eval_files=[{eval_file}]", *FAST,
    ]  # fmt: skip
    cfg = make_settings(*overrides)
    _seed(cfg, [*demo_docs, _planted_copy(demo_docs)])

    (result,) = run_pipeline(cfg)
    assert result.ok and result.details["unchanged"] is False
    version = result.details["version"]
    for kind in ("instruction", "preference"):
        assert result.counts[f"{kind}_train"] > 0 and result.counts[f"{kind}_test"] > 0
        folder = Path(result.artifacts[kind])
        assert folder.name == version and (folder.parent / "latest").resolve() == folder
        for name in ("README.md", "manifest.json", "lengths.png", "map.png"):
            assert (folder / name).is_file(), name
        assert (folder / "map.png").read_bytes()[:4] == b"\x89PNG"

    inst = _load(result.artifacts["instruction"])
    manifest = json.loads((Path(result.artifacts["instruction"]) / "manifest.json").read_text())
    assert {s: len(inst[s]) for s in ("train", "test")} == manifest["splits"]
    assert set(inst["train"]["document_id"]).isdisjoint(inst["test"]["document_id"])
    assert set(inst["test"]["document_id"]) == set(manifest["test_documents"])
    row = inst["train"][0]
    assert (
        row["text"]
        == f"<|im_start|>user\n{row['instruction']}<|im_end|>\n<|im_start|>assistant\n{row['answer']}<|im_end|>\n"
    )
    assert {"article", "post", "code"} <= set(inst["train"]["category"])

    funnel = {st["stage"]: st for st in manifest["funnel"]}
    assert list(funnel) == ["extracts", "generated", "rules", "exact_dedup", "near_dedup", "decontamination"]
    assert funnel["extracts"]["before"] == len(demo_docs) + 1
    assert funnel["near_dedup"]["dropped"]["near_duplicate"] >= 1
    assert "planted-copy" not in set(inst["train"]["document_id"]) | set(inst["test"]["document_id"])
    assert funnel["decontamination"]["dropped"]["overlaps_eval_file"] >= 1
    planted = ngrams(planted_eval, 13)
    assert not any(ngrams(a, 13) & planted for a in inst["train"]["answer"])
    assert len(manifest["sources"]) == len(demo_docs) + 1 and manifest["seed"] == 42
    assert manifest["config"]["dataset"]["decontamination"]["ngram"] == 13
    assert manifest["config"]["model"]["base"] == str(tiny_base)

    pref = _load(result.artifacts["preference"])
    prow = pref["train"][0]
    assert prow["prompt"].endswith("<|im_start|>assistant\n") and prow["chosen"] != prow["rejected"]
    assert prow["rejected_model"] == str(tiny_base)
    assert set(pref["test"]["document_id"]) <= set(manifest["test_documents"])
    card = (Path(result.artifacts["preference"]) / "README.md").read_text()
    assert f"version `{version}`" in card and "| train |" in card and "![2-D map of samples](map.png)" in card

    again = make_settings(*overrides)
    (second,) = run_pipeline(again)
    assert second.details == {**result.details, "unchanged": True}
    assert second.counts == result.counts
    for kind in ("instruction", "preference"):
        assert sorted(p.name for p in Path(result.artifacts[kind]).parent.iterdir()) == [version, "latest"]
    with connect(cfg.warehouse) as wh:
        records = wh.find("dataset_versions")
    assert sorted(r["_id"] for r in records) == sorted(
        [f"instruction:{version}", "instruction:latest", f"preference:{version}", "preference:latest"]
    )


def _llm_script(body: dict[str, Any], seen: int) -> tuple[int, str]:
    """Instructions: a quarter never valid JSON, a quarter valid on retry; judge and evolution valid; text otherwise."""
    system = body["messages"][0]["content"] if body["messages"][0]["role"] == "system" else ""
    prompt = first_user_message(body)
    key = sum(map(ord, prompt)) % 4
    if system.startswith("You write instructions"):
        words = " ".join(re.findall(r"[A-Za-z]+", prompt.split("<passage>")[1])[:6])
        if key == 0:
            return 200, "Sure! Some instructions: write about it, and then write more."
        if key == 1 and seen == 0:
            return 200, '{"instructions": ["Write about'
        return 200, "```json\n" + json.dumps({"instructions": [f"Write about {words}.", f"Explain {words}."]}) + "\n```"
    if system.startswith("You rewrite"):
        return 200, json.dumps({"instruction": f"Rewrite for a sceptical CTO (variant {key})."})
    if system.startswith("You are a strict judge"):
        return 200, json.dumps({"score": 2 if key == 0 else 4, "reason": f"reason {key}"})
    return 200, "A generic answer: it depends on your context, your team and your goals. " * 3


def test_llm_generator_judge_and_augmentation_keep_good_samples_and_record_bad_ones(
    make_settings: Callable[..., Any],
    demo_docs: list[CleanedDocument],
    tiny_base: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWIN_TEST_LLM_KEY", "sk-test")
    subset = [d for d in demo_docs if d.platform in ("medium", "linkedin")][:14]
    with ScriptedChatServer(_llm_script) as server:
        cfg = make_settings(
            "pipeline=dataset", "dataset=curated", "llm=openai", f"llm.base_url={server.url}",
            "llm.api_key_env=TWIN_TEST_LLM_KEY", "llm.requests_per_s=null", "llm.backoff_s=0.01", "llm.max_retries=1",
            f"model.base={tiny_base}", "dataset.test_fraction=0.3", *FAST,
        )  # fmt: skip
        _seed(cfg, subset)
        (result,) = run_pipeline(cfg)
    assert result.ok and result.counts["instruction_train"] > 0 and result.counts["instruction_test"] > 0
    manifest = json.loads((Path(result.artifacts["instruction"]) / "manifest.json").read_text())
    generation = [f for f in manifest["failures"] if f["stage"] == "generation"]
    assert generation and all(f["attempts"] == 2 for f in generation)
    assert all("no valid GeneratedInstructions after 2 attempts" in f["error"] for f in generation)
    assert all(f["raw_excerpt"].startswith("Sure! Some instructions") for f in generation)
    funnel = {st["stage"]: st for st in manifest["funnel"]}
    assert funnel["generated"]["dropped"]["llm_failure"] == len(generation)
    assert funnel["generated"]["after"] > 0 and funnel["augmented"]["after"] > funnel["augmented"]["before"]
    assert funnel["judge"]["dropped"].get("judge_below_threshold", 0) >= 1
    retried = [r for r in server.requests if len(r["body"]["messages"]) == 4]  # system, user, bad answer, repair
    assert retried, "invalid JSON answers were retried with the error shown"

    inst = _load(result.artifacts["instruction"])
    rows = list(inst["train"]) + list(inst["test"])
    assert {r["generator"] for r in rows} == {"llm"} and "evolved" in {r["source"] for r in rows}
    scored = [r for r in rows if r["judge_score"] is not None]
    assert scored and all(r["judge_score"] == 4 and r["judge_reason"].startswith("reason ") for r in scored)
    pref = _load(result.artifacts["preference"])
    assert len(pref["train"]) > 0 and set(pref["train"]["rejected_model"]) == {"gpt-4o-mini"}
