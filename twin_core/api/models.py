"""Request and response models of the API: the twin's own /v1/generate and the OpenAI-compatible chat format."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Filters(Strict):
    """Restrict retrieval to an author, platform or category (exact values, as stored)."""

    author: str | None = Field(default=None, max_length=200, description="Author full name.")
    platform: str | None = Field(default=None, max_length=100, description="e.g. medium, substack, linkedin, github.")
    category: str | None = Field(default=None, max_length=100, description="e.g. article, post, code.")


class GenerateRequest(Strict):
    """A question to the twin; ``stream=true`` answers as server-sent events (``sources``, ``delta``, ``done``)."""

    query: str = Field(min_length=1, description="The question or writing task (limit: api.limits.max_query_chars).")
    content_type: str | None = Field(default=None, description="answer, linkedin_post, article, thread, ...")
    filters: Filters | None = None
    k: int | None = Field(default=None, ge=1, description="Chunks of context (limit: api.limits.max_k).")
    links: list[str] = Field(default_factory=list, description="Links to read as extra context (public URLs only).")
    history: list[ChatMessage] = Field(default_factory=list, description="Earlier turns of the conversation.")
    max_tokens: int | None = Field(default=None, ge=1, description="Answer length cap (limit: api.limits.max_tokens).")
    temperature: float | None = Field(default=None, ge=0, le=2)
    stream: bool = False


class SourceOut(BaseModel):
    """A chunk the answer was grounded in."""

    chunk_id: str
    document_id: str
    link: str
    title: str | None = None
    platform: str
    category: str
    author_name: str
    score: float
    snippet: str = ""


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class GenerateResponse(BaseModel):
    request_id: str
    answer: str
    sources: list[SourceOut]
    timings: dict[str, float]
    usage: Usage
    content_type: str
    notes: list[str] = Field(default_factory=list)


# --- OpenAI-compatible chat completions ------------------------------------------------------------------------


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None

    def text(self) -> str:
        """The message's text (text parts of a multi-part content joined)."""
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat request; the last user message is the query, earlier messages the history.

    Extra (twin) fields: ``content_type``, ``filters``, ``k``, ``links``. Unknown OpenAI parameters are ignored.
    """

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    n: int | None = Field(default=None, ge=1, le=1, description="Only one choice is generated.")
    stop: str | list[str] | None = None
    user: str | None = None
    content_type: str | None = None
    filters: Filters | None = None
    k: int | None = Field(default=None, ge=1)
    links: list[str] = Field(default_factory=list)


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatChoiceMessage
    finish_reason: str = "stop"


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatChoice]
    usage: Usage
    sources: list[SourceOut] = Field(default_factory=list, description="Non-standard: what the answer is grounded in.")


def chat_chunk(
    completion_id: str,
    model: str,
    created: int,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    chunk = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return chunk | extra


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "llm-twin"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# --- feedback, sources, health ------------------------------------------------------------------------------------


class FeedbackRequest(Strict):
    request_id: str = Field(min_length=1, max_length=200)
    rating: Literal["up", "down"] | None = None
    edited_answer: str | None = Field(default=None, max_length=20_000)
    comment: str | None = Field(default=None, max_length=5_000)


class FeedbackResponse(BaseModel):
    request_id: str
    stored: bool = True
    feedback: dict[str, Any]


class AddSourcesRequest(Strict):
    author: str = Field(min_length=1, max_length=200, description="A configured author's full name.")
    links: list[str] = Field(min_length=1, max_length=50)
    collect: bool = Field(default=True, description="Start collecting (etl + feature) right after adding.")


GenerateRequest.model_rebuild()
