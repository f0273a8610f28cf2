"""``POST /v1/generate``: an answer in the author's voice with its sources, as JSON or as SSE events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from twin_core.api import sse
from twin_core.api.generation import SSE_HEADERS, Job
from twin_core.api.models import GenerateRequest, GenerateResponse
from twin_core.api.state import State

router = APIRouter()


def _generate_stream(job: Job, events: AsyncIterator[tuple[str, Any]]) -> StreamingResponse:
    """SSE: ``start`` (request id, content type), ``sources``, ``delta`` pieces, then ``done`` (or ``error``)."""

    async def body() -> AsyncIterator[bytes]:
        yield sse.event({"request_id": job.request_id, "content_type": job.content_type}, "start")
        async for kind, data in events:
            yield sse.event({"text": data} if kind == "delta" else data, kind)

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post(
    "/generate",
    response_model=GenerateResponse,
    tags=["twin"],
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE when stream=true"}},
)
async def generate(body: GenerateRequest, request: Request, state: State) -> Any:
    """Answer ``query`` in the author's voice, grounded in retrieved chunks (SSE with ``stream=true``)."""
    job = Job(
        state,
        request,
        query=body.query,
        content_type=body.content_type,
        filters=body.filters,
        k=body.k,
        links=body.links,
        history=body.history,
        max_tokens=body.max_tokens,
        temperature=body.temperature,
        stream=body.stream,
    )
    if body.stream:
        return _generate_stream(job, await job.events())
    return await job.answer()
