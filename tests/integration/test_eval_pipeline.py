"""run_eval end to end: tiny base/SFT/DPO models, LanceDB chunks, a scripted judge over HTTP; leaderboard and gate."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
TOPICS = ["backfills", "alerts", "chunking", "terminals", "newsletters", "tests", "reviews"]
TEXTS = [f"My notes on {t}: keep it small, write it down, and test the boring parts first. Why not?" for t in TOPICS]
GOOD = {"accuracy": {"score": 2, "reason": "Mostly right."}, "style": {"score": 3, "reason": "Sounds like her."}}
RAGAS = {  # ragas 0.4 prompt schema title -> scripted answer
    "StatementGeneratorOutput": {"statements": ["Keep it small.", "Test first."]},
    "NLIStatementOutput": {"statements": [{"statement": "Keep it small.", "reason": "in context", "verdict": 1}]},
    "ResponseRelevanceOutput": {"question": "What about it?", "noncommittal": 0},
    "Verification": {"reason": "useful", "verdict": 1},
    "ContextRecallClassifications": {"classifications": [{"statement": "s", "reason": "r", "attributed": 1}]},
}


def judge_script(body: dict[str, Any], seen: int) -> tuple[int, str]:
    """The scripted judge: ragas prompts by schema title, pairwise and pointwise ours; 'alerts' is never gradable."""
    from twin_core.llm.fake_server import first_user_message

    prompt = first_user_message(body)  # the same across a sample's retries
    for title, answer in RAGAS.items():
        if f'"title": "{title}", "type": "object"}}' in body["messages"][-1]["content"]:
            return 200, json.dumps(answer)
    if "ANSWER A:" in prompt:
        return 200, json.dumps({"reason": "A reads more like the author.", "winner": "A"})
    if "Write about alerts." in prompt:
        return 200, "I would give it a three, honestly."
    return 200, json.dumps(GOOD)


def _tiny(out: Path, seed: int) -> Path:
    """A tiny random Llama whose generation prompt ends in words: such a model echoes its last token, so it answers."""
    from transformers import AutoTokenizer

    from twin_core.llm.chat import CHATML_TEMPLATE
    from twin_core.llm.tiny import build_tiny_chat_model

    path = build_tiny_chat_model(out, TEXTS * 4, seed=seed, hidden=32)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.chat_template = CHATML_TEMPLATE.replace("assistant\n' }}", "assistant\nMy notes' }}")
    tokenizer.save_pretrained(path)
    return path


def _dataset(artifacts: Path) -> None:
    from datasets import Dataset, DatasetDict

    def row(i: int) -> dict[str, Any]:
        q = f"Write about {TOPICS[i]}."
        messages = [{"role": "user", "content": q}, {"role": "assistant", "content": TEXTS[i]}]
        return {"id": f"ins-{i}", "instruction": q, "answer": TEXTS[i], "messages": messages, "document_id": f"d{i}"}

    root = artifacts / "datasets" / "instruction"
    DatasetDict(
        {"train": Dataset.from_list([row(6)]), "test": Dataset.from_list([row(i) for i in range(5)])}
    ).save_to_disk(str(root / "ins1"))
    (root / "ins1" / "manifest.json").write_text(json.dumps({"kind": "instruction", "version": "ins1"}))
    (root / "latest").symlink_to("ins1", target_is_directory=True)


def _chunks(cfg: Any) -> None:
    from twin_core.domain.chunks import EmbeddedChunk
    from twin_core.features.embedding import Embedder
    from twin_core.vectorstore import open_store

    vectors = Embedder(cfg.embedding).embed(TEXTS)
    chunks = [
        EmbeddedChunk(
            document_id=f"d{i}", author_id="a1", author_name="Jane Doe", category="article", platform="blog",
            link=f"https://example.org/{i}", position=0, content=t, embedding=v.tolist(),
            embedding_model=cfg.embedding.model_id,
        )
        for i, (t, v) in enumerate(zip(TEXTS, vectors, strict=True))
    ]  # fmt: skip
    store = open_store(cfg.vector_store)
    store.ensure_collection(cfg.embedding.model_id, cfg.embedding.dimension)
    store.upsert(chunks)
    store.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Tiny models (base + two registered versions), the test split, chunks, and the scripted judge server."""
    from hydra.core.global_hydra import GlobalHydra

    from twin_core.config.loader import load_settings
    from twin_core.llm.fake_server import ScriptedChatServer
    from twin_core.training.steps import open_registry

    root = tmp_path_factory.mktemp("eval")
    base = _tiny(root / "base", 0)
    with ScriptedChatServer(judge_script) as server:

        def settings(*extra: str) -> Any:
            cfg = load_settings([
                f"paths.data_dir={root / 'data'}", f"model.base={base}", "model.demo=false", "evaluation=fast",
                "evaluation/judge=ollama", f"evaluation.judge.base_url={server.url}", "evaluation.judge.model=scripted",
                "evaluation.judge.concurrency=2", "evaluation.lmeval.max_new_tokens=8", "evaluation.judging.retries=1",
                *extra,
            ])  # fmt: skip
            GlobalHydra.instance().clear()
            return cfg

        cfg = settings()
        cfg.paths.ensure()
        _dataset(cfg.paths.artifacts_dir)
        _chunks(cfg)
        registry = open_registry(cfg)
        for i, name in enumerate(("twin-sft", "twin-dpo"), 1):
            folder = _tiny(root / name, i)
            registry.register(name, model_dir=folder, manifest={"fingerprint": f"fp{i}", "created_at": f"2024-01-0{i}"})
        yield {"settings": settings, "cfg": cfg, "root": root, "server": server}


def test_eval_run_writes_the_leaderboard_and_promotes_the_first_candidate(env: dict[str, Any]) -> None:
    from twin_core.evaluation.pipeline import run_eval
    from twin_core.training.steps import open_registry

    cfg = env["cfg"]
    result = run_eval(cfg)
    assert result.ok and result.counts["models"] == 3 and result.counts["samples"] == 5
    assert result.counts["promoted"] == 1 and result.details["gate"]["reason"] == "no production model yet"
    assert open_registry(cfg).get("twin-dpo", stage="production").version == "v1"
    board = json.loads(Path(result.artifacts["leaderboard_json"]).read_text())
    assert [r["model"] for r in board["rows"]] == ["base", "twin-sft/v1", "twin-dpo/v1"]
    for row in board["rows"]:
        for metric in ("bits_per_byte", "rouge_l", "style_similarity", "style_distance", "judge_accuracy",
                       "faithfulness", "answer_relevancy", "context_precision", "context_recall"):  # fmt: skip
            assert math.isfinite(row["metrics"][metric]), (row["model"], metric)
        assert row["metrics"]["judge_accuracy"] == 2.0 and row["metrics"]["judge_style"] == 3.0
    assert board["directions"]["bits_per_byte"] == "lower"
    # one sample per model could not be graded: retried, then recorded
    failures = json.loads((Path(result.artifacts["run_dir"]) / "judge_failures.json").read_text())
    assert {k: [f["item_id"] for f in v] for k, v in failures.items()} == {
        "base": ["ins-1"], "twin-sft/v1": ["ins-1"], "twin-dpo/v1": ["ins-1"],
    }  # fmt: skip
    assert failures["base"][0]["attempts"] == 2 and result.counts["judge_failures"] == 3
    beside = Path(result.artifacts["registry_eval"])
    assert beside == open_registry(cfg).get("twin-dpo", "v1").path / "eval"
    assert {p.name for p in beside.iterdir()} >= {"leaderboard.json", "leaderboard.md", "leaderboard.png", "gate.json"}
    reports = cfg.paths.reports_dir / "eval"
    assert (reports / "leaderboard.png").read_bytes()[:4] == b"\x89PNG"
    md = result.details["leaderboard_md"]
    assert re.search(r"^\| twin-dpo/v1 \| candidate, production \|", md, re.M)
    assert (Path(result.artifacts["run_dir"]) / "models" / "base" / "lmeval" / "twin_generation.yaml").is_file()

    again = run_eval(cfg)  # nothing new: every model from cache, no candidate for the gate
    assert again.counts["cached"] == 3 and again.counts["promoted"] == 0
    assert again.details["gate"]["reason"] == "no candidate: nothing registered outside production"
    assert again.metrics == result.metrics


def test_a_candidate_that_misses_the_margin_is_refused(env: dict[str, Any]) -> None:
    from twin_core.evaluation.pipeline import run_eval
    from twin_core.training.steps import open_registry

    cfg = env["settings"]("evaluation.gate.margins={bits_per_byte: '50%'}")
    registry = open_registry(cfg)
    if registry.get("twin-dpo", stage="production") is None:
        run_eval(cfg)  # the first test promotes v1 when run alone
    folder = _tiny(env["root"] / "dpo2", 7)
    registry.register("twin-dpo", model_dir=folder, manifest={"fingerprint": "fp7", "created_at": "2024-02-01"})
    result = run_eval(cfg)
    gate = result.details["gate"]
    assert gate["candidate"] == "twin-dpo/v2" and gate["production"] == "twin-dpo/v1"
    assert not gate["promote"] and gate["reason"].startswith("refused: bits_per_byte:")
    assert "does not beat the required improvement of" in gate["reason"]
    assert registry.get("twin-dpo", stage="production").version == "v1"
    assert result.counts["cached"] == 3  # only the new version was run
    # fast mode judges each pair once (no position swap); this judge always prefers A, the candidate
    assert (
        result.metrics["twin-dpo/v2:pairwise_win_rate"] == 1.0 and "twin-dpo/v1:pairwise_win_rate" not in result.metrics
    )
    pairwise = json.loads((Path(result.artifacts["run_dir"]) / "pairwise.json").read_text())
    assert len(pairwise["verdicts"]) == 5 and pairwise["failures"] == []
    saved = json.loads((registry.get("twin-dpo", "v2").path / "eval" / "gate.json").read_text())
    assert saved["promote"] is False and saved["checks"][0]["metric"] == "bits_per_byte"
