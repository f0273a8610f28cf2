"""Text generation with a Hugging Face causal LM on CPU: the engine behind the Triton Python-backend model."""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("twin.serving.generation")

CpuQuantization = Literal["none", "int8_dynamic"]


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt and its sampling options (``temperature <= 0`` means greedy)."""

    prompt: str
    max_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def sampling_key(self) -> tuple[object, ...]:
        """Requests with equal keys can share one padded ``generate`` call."""
        return (self.max_tokens, self.temperature, self.top_p, self.top_k, self.stop, self.seed)


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` cut before the first occurrence of any stop string."""
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def holdback(text: str, stop: Sequence[str]) -> int:
    """How many trailing chars of ``text`` could still start a stop string (so must not be streamed yet)."""
    keep = 0
    for s in stop:
        for n in range(min(len(s) - 1, len(text)), keep, -1):
            if text.endswith(s[:n]):
                keep = n
                break
    return keep


def stop_criteria(tokenizer: Any, stop: Sequence[str], prompt_len: int) -> Any:
    """Stopping criteria that end each row once its decoded completion contains a stop string."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _StopOnStrings(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            texts = tokenizer.batch_decode(input_ids[:, prompt_len:], skip_special_tokens=True)
            return torch.tensor([any(s in t for s in stop) for t in texts], dtype=torch.bool)

    return StoppingCriteriaList([_StopOnStrings()])


def group_requests(requests: Sequence[GenerationRequest]) -> dict[tuple[object, ...], list[int]]:
    """Indices of requests grouped by sampling options, in arrival order."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, req in enumerate(requests):
        groups.setdefault(req.sampling_key(), []).append(i)
    return groups


@dataclass
class TextGenerator:
    """A tokenizer and causal LM loaded once; generates for single, batched or streamed requests."""

    model: Any
    tokenizer: Any
    max_input_len: int = 1024
    max_output_len: int = 256
    source: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        quantization: CpuQuantization = "none",
        threads: int = 0,
        max_input_len: int = 1024,
        max_output_len: int = 256,
    ) -> TextGenerator:
        """Load a saved model and tokenizer from ``path`` onto the CPU (optionally int8 dynamic-quantised)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.perf_counter()
        if threads > 0:
            torch.set_num_threads(threads)
        path = Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"no Hugging Face model (config.json) in {path}")
        tokenizer = AutoTokenizer.from_pretrained(path)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        model.eval()
        if quantization == "int8_dynamic":
            with warnings.catch_warnings():  # torch flags its quantized-tensor constructors as deprecated
                warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor", category=UserWarning)
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        elif quantization != "none":
            raise ValueError(f"unknown CPU quantization {quantization!r}; use 'none' or 'int8_dynamic'")
        log.info("model loaded path=%s quantization=%s seconds=%.2f", path, quantization, time.perf_counter() - started)
        return cls(model, tokenizer, max_input_len, max_output_len, str(path))

    def _encode(self, prompts: list[str]) -> dict[str, Any]:
        self.tokenizer.truncation_side = "left"
        return self.tokenizer(
            prompts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_input_len
        )

    def _generate_kwargs(self, req: GenerationRequest, prompt_len: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": max(1, min(req.max_tokens, self.max_output_len)),
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if req.temperature > 0:
            kwargs.update(do_sample=True, temperature=req.temperature, top_p=req.top_p, top_k=req.top_k or None)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if req.stop:  # our own criterion: transformers' stop_strings fails on some tokenizers (e.g. word-level)
            kwargs["stopping_criteria"] = stop_criteria(self.tokenizer, req.stop, prompt_len)
        return kwargs

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Completions for ``requests``: one padded ``generate`` call per group of equal sampling options."""
        import torch

        out: list[str] = [""] * len(requests)
        for idx in group_requests(requests).values():
            head = requests[idx[0]]
            enc = self._encode([requests[i].prompt for i in idx])
            with self._lock, torch.inference_mode():
                if head.seed is not None:
                    torch.manual_seed(head.seed)
                ids = self.model.generate(**enc, **self._generate_kwargs(head, enc["input_ids"].shape[1]))
            new = ids[:, enc["input_ids"].shape[1] :]
            for row, i in enumerate(idx):
                text = self.tokenizer.decode(new[row], skip_special_tokens=True)
                out[i] = truncate_at_stop(text, head.stop)
        return out

    def stream(self, req: GenerationRequest) -> Iterator[str]:
        """Yield the completion of ``req`` piece by piece; the pieces join to ``generate([req])[0]``."""
        import torch
        from transformers import TextIteratorStreamer

        enc = self._encode([req.prompt])
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        error: list[BaseException] = []

        def run() -> None:
            try:
                with self._lock, torch.inference_mode():
                    if req.seed is not None:
                        torch.manual_seed(req.seed)
                    kwargs = self._generate_kwargs(req, enc["input_ids"].shape[1])
                    self.model.generate(**enc, **kwargs, streamer=streamer)
            except BaseException as exc:  # surfaced to the caller below
                error.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name="twin-generate-stream", daemon=True)
        worker.start()
        text, sent = "", 0
        for piece in streamer:
            text += piece
            cut = truncate_at_stop(text, req.stop)
            if len(cut) < len(text):  # a stop string appeared: emit what precedes it and finish
                text = cut
                break
            ready = len(text) - holdback(text, req.stop)
            if ready > sent:
                yield text[sent:ready]
                sent = ready
        worker.join()
        if error:
            raise error[0]
        if len(text) > sent:
            yield text[sent:]
