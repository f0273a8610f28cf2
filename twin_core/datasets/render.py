"""Dataset rows: each sample as chat ``messages`` and as ``text`` rendered with the base model's own chat template."""

from __future__ import annotations

from typing import Any

from twin_core.datasets.preference import prompt_messages
from twin_core.domain.samples import InstructionSample, PreferenceSample
from twin_core.llm.chat import render_chat


def features(kind: str) -> Any:
    """The column types of a dataset kind (fixed, so empty splits and reruns write the same schema)."""
    from datasets import Features, List, Value

    message = List({"role": Value("string"), "content": Value("string")})
    common = {
        "id": Value("string"),
        "instruction": Value("string"),
        "messages": message,
        "text": Value("string"),
        "document_id": Value("string"),
        "extract_id": Value("string"),
        "category": Value("string"),
        "platform": Value("string"),
        "source": Value("string"),
        "generator": Value("string"),
    }
    if kind == "instruction":
        extra = {"answer": Value("string"), "judge_score": Value("int32"), "judge_reason": Value("string")}
    else:
        extra = {
            "prompt": Value("string"),
            "chosen": Value("string"),
            "rejected": Value("string"),
            "rejected_model": Value("string"),
        }
    return Features({**common, **extra})


def instruction_row(sample: InstructionSample, tokenizer: Any, system_prompt: str | None) -> dict[str, Any]:
    """One SFT row: the conversation (system?, user, assistant) and its rendered text."""
    messages = [*prompt_messages(sample.instruction, system_prompt), {"role": "assistant", "content": sample.answer}]
    return {**sample.model_dump(), "messages": messages, "text": render_chat(tokenizer, messages)}


def preference_row(sample: PreferenceSample, tokenizer: Any, system_prompt: str | None) -> dict[str, Any]:
    """One DPO row: ``prompt`` rendered up to the answer, plain ``chosen``/``rejected``, and the chosen conversation."""
    prompt = prompt_messages(sample.instruction, system_prompt)
    messages = [*prompt, {"role": "assistant", "content": sample.chosen}]
    return {
        **sample.model_dump(),
        "prompt": render_chat(tokenizer, prompt, add_generation_prompt=True),
        "messages": messages,
        "text": render_chat(tokenizer, messages),
    }
