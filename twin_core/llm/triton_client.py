"""The twin's own Triton endpoint: prompts rendered with the chat template, sent through the serving client."""

from __future__ import annotations

import functools
import logging
from typing import Any

from twin_core.llm.chat import Message, load_chat_tokenizer, render_chat, render_chatml
from twin_core.llm.client import BaseLLMClient, GenParams
from twin_core.llm.errors import LLMError
from twin_core.llm.settings import LLMSettings

log = logging.getLogger("twin.llm")


class TritonClient(BaseLLMClient):
    """Calls ``TritonLLMClient.generate`` (imported lazily); that client retries unavailability itself."""

    def __init__(self, settings: LLMSettings, *, client: Any = None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        if client is None:
            from twin_core.serving.client import TritonLLMClient

            client = TritonLLMClient(
                str(settings.base_url),
                "http",
                settings.model,
                timeout_s=settings.timeout_s,
                retries=settings.max_retries,
            )
        self._triton = client

    @functools.cached_property
    def tokenizer(self) -> Any:
        """The tokenizer whose chat template renders prompts; None means plain ChatML."""
        if not self.settings.tokenizer:
            return None
        try:
            return load_chat_tokenizer(self.settings.tokenizer)
        except RuntimeError as exc:
            log.warning("llm: %s; rendering prompts as ChatML", exc)
            return None

    def prompt(self, messages: list[Message]) -> str:
        """The conversation rendered for generation, as in training."""
        if self.tokenizer is None:
            return render_chatml(messages, add_generation_prompt=True)
        return render_chat(self.tokenizer, messages, add_generation_prompt=True)

    def _complete(self, messages: list[Message], params: GenParams) -> str:
        try:
            return str(
                self._triton.generate(
                    self.prompt(messages),
                    max_tokens=params.max_tokens,
                    temperature=params.temperature,
                    top_p=params.top_p,
                    stop=list(params.stop) or None,
                    seed=params.seed,
                )
            )
        except Exception as exc:
            raise LLMError(f"triton {self.settings.base_url} model {self.settings.model}: {exc}") from exc

    def close(self) -> None:
        """Close the serving client's connection."""
        close = getattr(self._triton, "close", None)
        if callable(close):
            close()
