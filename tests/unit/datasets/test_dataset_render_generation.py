"""Rendering with the chat template, and the LLM stages (instructions, evolution, judge) with a scripted client."""

from __future__ import annotations

import json
from collections.abc import Callable

from twin_core.datasets.extracts import Extract
from twin_core.datasets.generation import evolve, judge, llm_instructions, pick
from twin_core.datasets.render import instruction_row, preference_row
from twin_core.domain.samples import InstructionSample, PreferenceSample
from twin_core.llm import BaseLLMClient, LLMSettings
from twin_core.llm.chat import render_chatml
from twin_core.llm.client import GenParams


class ChatML:
    def apply_chat_template(self, messages: list[dict[str, str]], tokenize: bool, add_generation_prompt: bool) -> str:
        return render_chatml(messages, add_generation_prompt=add_generation_prompt)


class Scripted(BaseLLMClient):
    def __init__(self, answer: Callable[[str], str]) -> None:
        super().__init__(LLMSettings(provider="transformers", model="s", max_retries=1, concurrency=2))
        self.answer = answer

    def _complete(self, messages: list[dict[str, str]], params: GenParams) -> str:
        return self.answer(messages[1]["content"])


def _extract(i: int) -> Extract:
    return Extract(
        document_id=f"d{i}", category="article", platform="medium", author="Y", title=f"T{i}",
        text=f"Passage number {i} about pipelines.", position=0,
    )  # fmt: skip


def test_rows_carry_messages_and_the_chat_template_text() -> None:
    sample = InstructionSample(instruction="Write it.", answer="Done.", document_id="d", category="post")
    row = instruction_row(sample, ChatML(), "You are Y.")
    assert row["messages"][-1] == {"role": "assistant", "content": "Done."}
    assert row["text"] == (
        "<|im_start|>system\nYou are Y.<|im_end|>\n<|im_start|>user\nWrite it.<|im_end|>\n"
        "<|im_start|>assistant\nDone.<|im_end|>\n"
    )
    pair = PreferenceSample(
        instruction="Write it.", chosen="Mine.", rejected="Generic.", document_id="d", category="post"
    )
    prow = preference_row(pair, ChatML(), None)
    assert prow["prompt"] == "<|im_start|>user\nWrite it.<|im_end|>\n<|im_start|>assistant\n"
    assert prow["text"] == prow["prompt"] + "Mine.<|im_end|>\n"
    assert (prow["chosen"], prow["rejected"]) == ("Mine.", "Generic.")


def test_llm_instructions_keep_good_extracts_and_record_bad_ones() -> None:
    def answer(prompt: str) -> str:
        if "Passage number 1 " in prompt:
            return "I cannot do that."
        n = prompt.split("Passage number ")[1].split(" ")[0]
        return (
            "Sure!\n```json\n" + json.dumps({"instructions": [f"Ask {n}", f"Ask {n}", f"Other {n}", "x" * 5]}) + "\n```"
        )

    samples, failures = llm_instructions(Scripted(answer), [_extract(i) for i in range(3)], 2, None)
    assert [s.instruction for s in samples] == ["Ask 0", "Other 0", "Ask 2", "Other 2"]
    assert all(s.answer == f"Passage number {s.instruction[-1]} about pipelines." for s in samples)
    assert all(s.generator == "llm" and s.extract_id for s in samples)
    assert [(f.item_id, f.attempts) for f in failures] == [(_extract(1).id, 2)]
    assert failures[0].raw_excerpt == "I cannot do that."


def test_evolution_and_judge_scores() -> None:
    samples = [
        InstructionSample(instruction=f"Write {i}.", answer=f"Answer {i}.", document_id="d", category="post")
        for i in range(20)
    ]
    assert pick(samples, 0.5, 3) == pick(samples, 0.5, 3) and 3 < len(pick(samples, 0.5, 3)) < 17
    evolved, failures = evolve(
        Scripted(lambda p: '{"instruction": "Write it for a CFO, in 100 words."}'), samples, 0.5, 3
    )
    assert len(evolved) == len(pick(samples, 0.5, 3)) and not failures
    assert all(e.source == "evolved" and e.instruction == "Write it for a CFO, in 100 words." for e in evolved)
    assert len({e.id for e in evolved}) == len(evolved)

    def verdict(prompt: str) -> str:
        i = int(prompt.split("Answer ")[1].split(".")[0])
        return "nope" if i == 0 else json.dumps({"score": 1 + i % 5, "reason": f"reason {i}"})

    scored, failures = judge(Scripted(verdict), samples[:6], 50)
    assert [s.judge_score for s in scored] == [None, 2, 3, 4, 5, 1]
    assert scored[1].judge_reason == "reason 1" and len(failures) == 1
