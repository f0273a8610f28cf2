"""An in-process transformers model: loaded once per process, prompts rendered with its own chat template."""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

from twin_core.llm.chat import Message, load_chat_tokenizer, render_chat
from twin_core.llm.client import BaseLLMClient, GenParams
from twin_core.llm.errors import LLMError
from twin_core.llm.settings import LLMSettings

log = logging.getLogger("twin.llm")
_GENERATE = threading.Lock()


@functools.lru_cache(maxsize=2)
def load_model(path: str, device: str) -> tuple[Any, Any]:
    """Tokenizer (left padding, with a chat template) and model in eval mode; cached per process."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = load_chat_tokenizer(path)
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()
    except Exception as exc:
        raise LLMError(f"cannot load the model at {path!r}: {exc}") from exc
    log.info("llm: loaded %s on %s (%d parameters)", path, device, sum(p.numel() for p in model.parameters()))
    return tokenizer, model


def _cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    cuts = [i for i in (text.find(s) for s in stop) if i >= 0]
    return text[: min(cuts)] if cuts else text


class TransformersClient(BaseLLMClient):
    """Generates with ``model.generate``: ``batch_size`` prompts at once, one batch at a time."""

    def __init__(self, settings: LLMSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.batch_size = settings.batch_size

    def loaded(self) -> tuple[Any, Any]:
        """(tokenizer, model), loaded on first use."""
        return load_model(self.settings.model, self.settings.device)

    def _complete(self, messages: list[Message], params: GenParams) -> str:
        return self._complete_batch([messages], params)[0]

    def _complete_batch(self, conversations: list[list[Message]], params: GenParams) -> list[str]:
        import torch

        tokenizer, model = self.loaded()
        prompts = [render_chat(tokenizer, m, add_generation_prompt=True) for m in conversations]
        limit = getattr(model.config, "max_position_embeddings", 2048) - params.max_tokens
        enc = tokenizer(
            prompts,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=max(limit, 8),
            add_special_tokens=False,
        ).to(model.device)
        sampling = params.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "do_sample": sampling,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        }
        if sampling:
            kwargs.update(temperature=params.temperature, top_p=params.top_p)
        with _GENERATE, torch.inference_mode():
            if params.seed is not None:
                torch.manual_seed(params.seed)
            out = model.generate(**enc, **kwargs)
        texts = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        return [_cut_at_stop(t, params.stop).strip() for t in texts]
