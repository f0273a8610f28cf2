"""OpenAI-compatible routes: ``POST /v1/chat/completions`` (JSON, or SSE chunks ending ``data: [DONE]``) and
``GET /v1/models``. The answer's sources ride along as an extra ``sources`` field."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from twin_core.api import sse
from twin_core.api.errors import ApiError
from twin_core.api.generation import SSE_HEADERS, Job
from twin_core.api.models import (
    ChatChoice,
    ChatChoiceMessage,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ModelCard,
    ModelList,
    SourceOut,
    Usage,
    chat_chunk,
)
from twin_core.api.state import State

router = APIRouter()


def _chat_stream(job: Job, events: AsyncIterator[tuple[str, Any]]) -> StreamingResponse:
    """SSE ``chat.completion.chunk`` objects: the role, content deltas, a final chunk with usage and sources."""
    cid, created = f"chatcmpl-{job.request_id}", int(time.time())

    async def body() -> AsyncIterator[bytes]:
        yield sse.event(chat_chunk(cid, job.model, created, {"role": "assistant", "content": ""}))
        async for kind, data in events:
            if kind == "delta" and data:
                yield sse.event(chat_chunk(cid, job.model, created, {"content": data}))
            elif kind == "done":
                extra = {"usage": data["usage"], "sources": data["sources"], "request_id": job.request_id}
                yield sse.event(chat_chunk(cid, job.model, created, {}, "stop", **extra))
            elif kind == "error":
                yield sse.event(data)
        yield sse.DONE

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post(
    "/chat/completions",
    response_model=ChatCompletionResponse,
    tags=["openai"],
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE chunks when stream=true"}},
)
async def chat_completions(body: ChatCompletionRequest, request: Request, state: State) -> Any:
    """OpenAI-compatible: the last user message is the query, the earlier ones the history."""
    last = body.messages[-1]
    if last.role != "user" or not last.text().strip():
        raise ApiError(422, "the last message must be a user message with text", field="messages")
    job = Job(
        state,
        request,
        query=last.text(),
        content_type=body.content_type,
        filters=body.filters,
        k=body.k,
        links=body.links,
        history=[m for m in body.messages[:-1] if m.role in ("user", "assistant")],
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        stream=body.stream,
        model=body.model,
    )
    if body.stream:
        return _chat_stream(job, await job.events())
    done = await job.answer()
    return ChatCompletionResponse(
        id=f"chatcmpl-{job.request_id}",
        model=job.model,
        choices=[ChatChoice(message=ChatChoiceMessage(content=done["answer"]))],
        usage=Usage(**done["usage"]),
        sources=[SourceOut(**s) for s in done["sources"]],
    )


@router.get("/models", response_model=ModelList, tags=["openai"])
async def models(state: State) -> ModelList:
    """The served twin model (any ``model`` value is accepted by chat completions)."""
    return ModelList(data=[ModelCard(id=state.cfg.rag.generator.model, created=int(state.started))])
