"""Evaluation fixtures: a scripted judge (a fake LLM client at the LLM boundary) and ragas' expected answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from twin_core.llm import BaseLLMClient, LLMSettings
from twin_core.llm.client import GenParams

Script = Callable[[list[dict[str, str]], int], str]

# ragas 0.4 asks for one JSON schema per prompt; its title names the prompt (see ragas.metrics._faithfulness etc.).
RAGAS_ANSWERS = {
    "StatementGeneratorOutput": {"statements": ["Backfills run per day.", "Backfills are cheap."]},
    "NLIStatementOutput": {
        "statements": [
            {"statement": "Backfills run per day.", "reason": "stated in the context", "verdict": 1},
            {"statement": "Backfills are cheap.", "reason": "not in the context", "verdict": 0},
        ]
    },
    "ResponseRelevanceOutput": {"question": "How do backfills run?", "noncommittal": 0},
    "Verification": {"reason": "the passage was useful", "verdict": 1},
    "ContextRecallClassifications": {
        "classifications": [
            {"statement": "Backfills run per day.", "reason": "in the passage", "attributed": 1},
            {"statement": "Keep them idempotent.", "reason": "not in the passage", "attributed": 0},
        ]
    },
}


def _ragas_answer(prompt: str) -> str | None:
    """The scripted answer to a ragas prompt, chosen by the output schema's title; None when it is not ragas'."""
    for title, answer in RAGAS_ANSWERS.items():
        if f'"title": "{title}", "type": "object"}}' in prompt:
            return json.dumps(answer)
    return None


class ScriptedJudgeClient(BaseLLMClient):
    """A fake LLM client at the LLM boundary: answers from ``script(messages, call_number)``; records every call."""

    def __init__(self, script: Script, **settings: Any) -> None:
        super().__init__(LLMSettings(provider="transformers", model="scripted-judge", **settings), sleep=lambda s: None)
        self.script = script
        self.calls: list[tuple[list[dict[str, str]], GenParams]] = []

    def _complete(self, messages: list[dict[str, str]], params: GenParams) -> str:
        self.calls.append((messages, params))
        return self.script(messages, len(self.calls))


@pytest.fixture
def scripted_judge() -> Callable[..., ScriptedJudgeClient]:
    """Build a scripted judge: ``scripted_judge(script, concurrency=1)``."""

    def _make(script: Script, **settings: Any) -> ScriptedJudgeClient:
        return ScriptedJudgeClient(script, **{"concurrency": 1, **settings})

    return _make


@pytest.fixture
def ragas_answer() -> Callable[[str], str | None]:
    """The scripted answer to a ragas prompt (by its schema title), or None for other prompts."""
    return _ragas_answer
