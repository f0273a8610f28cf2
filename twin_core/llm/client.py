"""The LLM client boundary: one protocol, a base class with retries, JSON answers and bounded fan-out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from twin_core.llm.chat import Message
from twin_core.llm.errors import LLMError, StructuredOutputError
from twin_core.llm.ratelimit import RateLimiter
from twin_core.llm.settings import LLMSettings
from twin_core.llm.structured import Failure, excerpt, parse_structured, run_bounded, schema_instruction

log = logging.getLogger("twin.llm")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class GenParams:
    """Sampling parameters of one request (defaults from the settings)."""

    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_mode: bool = False


@runtime_checkable
class LLMClient(Protocol):
    """What generation, judging and RAG ask of an LLM."""

    def complete(self, messages: Sequence[Message], **params: Any) -> str:
        """The answer to a chat conversation (``temperature``, ``max_tokens``, ``top_p``, ``stop``, ``seed``)."""

    def complete_json(self, messages: Sequence[Message], schema: type[M], **params: Any) -> M:
        """An answer validated against a pydantic schema, retried when invalid."""

    def map_structured(
        self, items: Sequence[T], build_messages: Callable[[T], list[Message]], schema: type[M], **kw: Any
    ) -> tuple[list[tuple[T, M]], list[Failure]]:
        """Structured answers for many items; failures are records, never exceptions."""

    def map_text(
        self, items: Sequence[T], build_messages: Callable[[T], list[Message]], **kw: Any
    ) -> tuple[list[tuple[T, str]], list[Failure]]:
        """Free-text answers for many items; failures are records, never exceptions."""

    def close(self) -> None:
        """Release connections or models."""


def default_item_id(item: Any) -> str:
    """An item's ``id`` attribute or key, else its text."""
    value = getattr(item, "id", None) or (item.get("id") if isinstance(item, dict) else None)
    return str(value if value is not None else item)


class BaseLLMClient:
    """Providers implement ``_complete`` (one request); this adds rate limiting, retries, JSON and fan-out."""

    batch_size = 1

    def __init__(self, settings: LLMSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.limiter = RateLimiter(settings.requests_per_s, sleep=sleep)
        self._sleep = sleep

    def _complete(self, messages: list[Message], params: GenParams) -> str:
        raise NotImplementedError

    def _complete_batch(self, conversations: list[list[Message]], params: GenParams) -> list[str]:
        return [self._complete(m, params) for m in conversations]

    def params(self, **overrides: Any) -> GenParams:
        """Request parameters: the settings, then any non-None override."""
        s = self.settings
        base = GenParams(s.temperature, s.top_p, s.max_tokens, seed=s.seed)
        given = {k: (tuple(v) if k == "stop" else v) for k, v in overrides.items() if v is not None}
        return replace(base, **given)

    def _with_retries(self, what: str, call: Callable[[], T]) -> T:
        retries = self.settings.max_retries
        for attempt in range(retries + 1):
            self.limiter.acquire()
            try:
                return call()
            except LLMError as exc:
                if not exc.retryable or attempt == retries:
                    raise
                delay = exc.retry_after or min(self.settings.backoff_s * 2**attempt, MAX_BACKOFF_S)
                log.warning("llm %s failed, retrying in %.2fs (%d/%d): %s", what, delay, attempt + 1, retries, exc)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def complete(self, messages: Sequence[Message], **params: Any) -> str:
        """The model's answer to a conversation; transient errors are retried ``max_retries`` times."""
        p = self.params(**params)
        return self._with_retries("request", lambda: self._complete(list(messages), p))

    def complete_batch(self, conversations: Sequence[Sequence[Message]], **params: Any) -> list[str]:
        """Answers to several conversations (one batched call where the provider supports it)."""
        p = self.params(**params)
        convs = [list(m) for m in conversations]
        return self._with_retries("batch", lambda: self._complete_batch(convs, p))

    def complete_json(
        self, messages: Sequence[Message], schema: type[M], *, retries: int | None = None, **params: Any
    ) -> M:
        """A validated answer; an invalid one is retried with the error shown to the model."""
        tries = (self.settings.max_retries if retries is None else retries) + 1
        convo = [dict(m) for m in messages]
        if convo and convo[-1]["role"] == "user":
            convo[-1]["content"] += "\n\n" + schema_instruction(schema)
        json_mode = params.pop("json_mode", None)
        json_mode = self.settings.json_mode if json_mode is None else json_mode
        raw, error = "", ""
        for attempt in range(1, tries + 1):
            raw = self.complete(convo, json_mode=json_mode, **params)
            try:
                return parse_structured(raw, schema)
            except ValueError as exc:
                error = str(exc)
                log.info("llm answer unusable (attempt %d/%d): %s", attempt, tries, error)
            convo = [
                *convo[: len(messages)],
                {"role": "assistant", "content": raw},
                {"role": "user", "content": f"That answer could not be used ({error}). Reply with the JSON only."},
            ]
        raise StructuredOutputError(
            f"no valid {schema.__name__} after {tries} attempts: {error}", raw=raw, attempts=tries
        )

    def map_structured(
        self,
        items: Sequence[T],
        build_messages: Callable[[T], list[Message]],
        schema: type[M],
        *,
        item_id: Callable[[T], str] = default_item_id,
        progress: Callable[[int], None] | None = None,
        **params: Any,
    ) -> tuple[list[tuple[T, M]], list[Failure]]:
        """Structured answers for many items, ``concurrency`` at a time; a bad item becomes a failure record."""
        return run_bounded(
            items,
            lambda item: self.complete_json(build_messages(item), schema, **params),
            item_id=item_id,
            concurrency=self.settings.concurrency,
            progress=progress,
        )

    def map_text(
        self,
        items: Sequence[T],
        build_messages: Callable[[T], list[Message]],
        *,
        item_id: Callable[[T], str] = default_item_id,
        progress: Callable[[int], None] | None = None,
        **params: Any,
    ) -> tuple[list[tuple[T, str]], list[Failure]]:
        """Free-text answers for many items: batched when the provider batches, else ``concurrency`` at a time."""
        if self.batch_size <= 1:
            return run_bounded(
                items,
                lambda item: self.complete(build_messages(item), **params),
                item_id=item_id,
                concurrency=self.settings.concurrency,
                progress=progress,
            )
        results: list[tuple[T, str]] = []
        failures: list[Failure] = []
        for at in range(0, len(items), self.batch_size):
            batch = list(items[at : at + self.batch_size])
            try:
                answers = self.complete_batch([build_messages(i) for i in batch], **params)
                results.extend(zip(batch, answers, strict=True))
                if progress:
                    progress(len(batch))
            except Exception as exc:
                log.warning("llm batch failed, answering its %d items one by one: %s", len(batch), excerpt(str(exc)))
                got, lost = run_bounded(
                    batch, lambda i: self.complete(build_messages(i), **params), item_id=item_id, concurrency=1,
                    progress=progress,
                )  # fmt: skip
                results.extend(got)
                failures.extend(lost)
        return results, failures

    def close(self) -> None:
        """Release connections or models (no-op by default)."""

    def __enter__(self) -> BaseLLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_client(settings: LLMSettings, **kwargs: Any) -> BaseLLMClient:
    """The client for ``settings.provider``; heavy dependencies are imported only for the chosen one."""
    if settings.provider == "openai":
        from twin_core.llm.openai_client import OpenAIClient

        return OpenAIClient(settings, **kwargs)
    if settings.provider == "triton":
        from twin_core.llm.triton_client import TritonClient

        return TritonClient(settings, **kwargs)
    if settings.provider == "transformers":
        from twin_core.llm.transformers_client import TransformersClient

        return TransformersClient(settings, **kwargs)
    raise ValueError(f"llm.provider: {settings.provider!r} is not one of openai, triton, transformers")
