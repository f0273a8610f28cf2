"""Chat prompts rendered with a model's own chat template (ChatML when the tokenizer has none)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("twin.llm")

Message = dict[str, str]
# ChatML, as Axolotl's ``chat_template: chatml`` writes it; the fallback for tokenizers without a template.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'"
    " + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
KNOWN_TEMPLATES = {"chatml": CHATML_TEMPLATE}


def render_chatml(messages: Sequence[Message], *, add_generation_prompt: bool = False) -> str:
    """ChatML without a tokenizer (the Triton client's fallback)."""
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def load_chat_tokenizer(path: str, fallback: str | None = "chatml") -> Any:
    """The tokenizer at ``path`` with a chat template: its own, else the named fallback (else an error)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except Exception as exc:
        raise RuntimeError(f"cannot load the tokenizer of {path!r} for its chat template: {exc}") from exc
    if not getattr(tokenizer, "chat_template", None):
        if fallback not in KNOWN_TEMPLATES:
            raise RuntimeError(f"tokenizer {path!r} has no chat_template and {fallback!r} is not a known template")
        log.warning("tokenizer %s has no chat_template; using %s", path, fallback)
        tokenizer.chat_template = KNOWN_TEMPLATES[fallback]
    return tokenizer


def render_chat(tokenizer: Any, messages: Sequence[Message], *, add_generation_prompt: bool = False) -> str:
    """The conversation as the model sees it, through the tokenizer's chat template."""
    return str(
        tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=add_generation_prompt)
    )
