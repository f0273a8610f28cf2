"""Errors of the LLM boundary: transport failures (maybe retryable) and unusable structured answers."""

from __future__ import annotations


class LLMError(RuntimeError):
    """A request failed; ``retryable`` marks transient causes (timeouts, 429, 5xx, dropped connections)."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable, self.status = retryable, status
        self.retry_after: float | None = None


class StructuredOutputError(ValueError):
    """No valid answer for the schema after every attempt; keeps the last raw answer for the failure record."""

    def __init__(self, message: str, *, raw: str = "", attempts: int = 1) -> None:
        super().__init__(message)
        self.raw, self.attempts = raw, attempts
