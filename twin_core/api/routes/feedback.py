"""``POST /v1/feedback``: thumbs up/down and an edited answer for an earlier request, stored for the next dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from twin_core.api.errors import ApiError
from twin_core.api.models import FeedbackRequest, FeedbackResponse
from twin_core.api.state import State

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

router = APIRouter()


@router.post("/feedback", response_model=FeedbackResponse, tags=["twin"])
async def feedback(body: FeedbackRequest, request: Request, state: State) -> FeedbackResponse:
    """Thumbs up/down and an edited answer for an earlier request (feeds the next preference dataset)."""
    request.state.log.update(query=f"feedback {body.rating or ''} for {body.request_id}".strip())
    monitor = state.monitor()
    if monitor is None:
        raise ApiError(503, "prompt monitoring is off, so answers cannot be looked up", type="unavailable")
    await run_in_threadpool(state.wait_recorded, body.request_id)
    logged = await run_in_threadpool(monitor.get, body.request_id)
    if logged is None:
        raise ApiError(404, f"no answer with request_id {body.request_id!r}", field="request_id")
    if not getattr(logged, "answer", None) or not getattr(logged, "query", None):
        raise ApiError(409, f"request {body.request_id!r} has no answer to give feedback on", field="request_id")
    stored = await run_in_threadpool(_store_feedback, state.cfg, body, logged)
    return FeedbackResponse(request_id=body.request_id, feedback=jsonable_encoder(stored))


def _store_feedback(cfg: TwinSettings, body: FeedbackRequest, logged: Any) -> Any:
    """The feedback with the logged query and answer, stored in the warehouse (a later one replaces it)."""
    from twin_core.datasets.feedback import Feedback, store_feedback
    from twin_core.warehouse import connect

    fb = Feedback(
        request_id=body.request_id,
        rating=body.rating,
        edited_answer=body.edited_answer,
        comment=body.comment,
        query=logged.query,
        answer=logged.answer,
        content_type=getattr(logged, "content_type", None),
        model=getattr(logged, "model", None),
    )
    with connect(cfg.warehouse) as wh:
        return store_feedback(wh, fb)
