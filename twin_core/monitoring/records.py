"""What one API request leaves behind: its prompt, retrieved ids, answer, latencies and token counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LATENCY_KEYS = ("retrieval_s", "generation_s", "first_token_s", "total_s")


def _latency() -> dict[str, float | None]:
    return dict.fromkeys(LATENCY_KEYS)


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 0, "completion_tokens": 0}


class PromptLog(BaseModel):
    """One request, stored in the warehouse under ``request_id`` (a repeated id replaces the record)."""

    model_config = ConfigDict(extra="ignore")

    request_id: str = Field(min_length=1)
    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))
    endpoint: str = "/v1/generate"
    status: Literal["ok", "error"] = "ok"
    http_status: int = 200
    error: str | None = None
    query: str = ""
    prompt: str = ""
    content_type: str | None = None
    filters: dict[str, Any] = Field(default_factory=dict)
    retrieved_ids: list[str] = Field(default_factory=list)
    sources: list[dict[str, Any]] = Field(default_factory=list)
    answer: str = ""
    # retrieval_s, generation_s, first_token_s, total_s
    latency: dict[str, float | None] = Field(default_factory=_latency)
    usage: dict[str, int] = Field(default_factory=_usage)  # prompt_tokens, completion_tokens
    guardrails: list[dict[str, Any]] = Field(default_factory=list)
    stream: bool = False
    model: str | None = None

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("latency")
    @classmethod
    def _all_latencies(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        return {**_latency(), **value}

    @field_validator("usage")
    @classmethod
    def _all_usage(cls, value: dict[str, int]) -> dict[str, int]:
        return {**_usage(), **value}

    @property
    def total_s(self) -> float | None:
        return self.latency.get("total_s")

    @property
    def document_ids(self) -> list[str]:
        """The retrieved documents (from the sources), else the retrieved chunk ids."""
        docs = [str(s["document_id"]) for s in self.sources if s.get("document_id")]
        return docs or list(self.retrieved_ids)
