"""OpenAI-compatible chat completions over httpx (OpenAI, vLLM, Ollama, TGI); the key comes from the environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import httpx

from twin_core.llm.chat import Message
from twin_core.llm.client import BaseLLMClient, GenParams
from twin_core.llm.errors import LLMError
from twin_core.llm.settings import LLMSettings
from twin_core.llm.structured import excerpt

log = logging.getLogger("twin.llm")
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


class OpenAIClient(BaseLLMClient):
    """POSTs ``{base_url}/chat/completions``; thread-safe (one pooled ``httpx.Client``)."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(settings, **({"sleep": sleep} if sleep else {}))
        headers = {"Content-Type": "application/json"}
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
            else:
                log.warning("llm: $%s is not set; calling %s without a key", settings.api_key_env, settings.base_url)
        self.url = str(settings.base_url).rstrip("/") + "/chat/completions"
        self._http = httpx.Client(
            timeout=settings.timeout_s,
            headers=headers,
            transport=transport,
            limits=httpx.Limits(max_connections=settings.concurrency),
        )

    def body(self, messages: list[Message], p: GenParams) -> dict[str, Any]:
        """The request body for one conversation."""
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "max_tokens": p.max_tokens,
        }
        if p.stop:
            body["stop"] = list(p.stop)
        if p.seed is not None:
            body["seed"] = p.seed
        if p.json_mode:
            body["response_format"] = {"type": "json_object"}
        return body

    def _complete(self, messages: list[Message], params: GenParams) -> str:
        try:
            response = self._http.post(self.url, json=self.body(messages, params))
        except httpx.TimeoutException as exc:
            raise LLMError(f"{self.url} timed out after {self.settings.timeout_s}s", retryable=True) from exc
        except httpx.TransportError as exc:
            raise LLMError(f"{self.url} unreachable: {type(exc).__name__}: {exc}", retryable=True) from exc
        status = response.status_code
        if status >= 400:
            err = LLMError(
                f"{self.url} answered HTTP {status}: {excerpt(response.text, 200)}",
                retryable=status in RETRYABLE_STATUS,
                status=status,
            )
            err.retry_after = _retry_after(response)
            raise err
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"{self.url} sent no chat completion: {excerpt(response.text, 200)}") from exc
        return str(content or "")

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
