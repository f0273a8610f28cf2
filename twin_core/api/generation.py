"""One generation request (``POST /v1/generate`` and ``/v1/chat/completions``): checked against the limits, turned
into the service's ``AnswerRequest``, answered whole or streamed, and its prompt-log fields filled in."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from fastapi import Request
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from twin_core.api.errors import ApiError
from twin_core.api.models import ChatMessage, Filters, SourceOut
from twin_core.api.service_errors import map_error
from twin_core.api.state import ApiState

log = logging.getLogger("twin.api")
#: Headers of the SSE responses (no caching, no proxy buffering).
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def as_dict(obj: Any) -> dict[str, Any]:
    """A dict, dataclass, pydantic model or plain object as a dict."""
    if isinstance(obj, dict):
        return dict(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if hasattr(obj, "model_dump"):
        return dict(obj.model_dump())
    return dict(vars(obj))


def source_out(src: Any) -> dict[str, Any]:
    """A service ``Source`` as the API's JSON (fields of SourceOut only)."""
    d = as_dict(src)
    d["category"] = str(getattr(d.get("category"), "value", d.get("category") or ""))
    return SourceOut.model_validate({k: d.get(k) for k in SourceOut.model_fields if k in d}).model_dump()


def _usage(raw: Any) -> dict[str, int]:
    d = as_dict(raw) if raw is not None else {}
    prompt, completion = int(d.get("prompt_tokens") or 0), int(d.get("completion_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _answer_request_params() -> set[str]:
    from twin_core.rag.service import AnswerRequest

    if dataclasses.is_dataclass(AnswerRequest):
        return {f.name for f in dataclasses.fields(AnswerRequest)}
    if hasattr(AnswerRequest, "model_fields"):
        return set(AnswerRequest.model_fields)
    return set(inspect.signature(AnswerRequest).parameters)


def _search_filters(filters: Filters | None) -> Any:
    if filters is None or not (filters.author or filters.platform or filters.category):
        return None
    from twin_core.vectorstore.base import SearchFilters

    return SearchFilters(author_name=filters.author, platform=filters.platform, category=filters.category)


class Job:
    """One generation request, checked against the limits and turned into the service's AnswerRequest."""

    def __init__(
        self,
        state: ApiState,
        request: Request,
        *,
        query: str,
        content_type: str | None,
        filters: Filters | None,
        k: int | None,
        links: Sequence[str],
        history: Sequence[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
        stream: bool,
        model: str | None = None,
    ) -> None:
        cfg, limits = state.cfg, state.cfg.api.limits
        self.state, self.request, self.stream = state, request, stream
        self.request_id: str = request.state.request_id
        self.model = model or cfg.rag.generator.model
        self.log: dict[str, Any] = request.state.log
        types = sorted(cfg.rag.content_types)
        self.content_type = content_type or cfg.rag.default_content_type
        self.log.update(
            query=query[:20_000],
            content_type=self.content_type,
            stream=stream,
            model=self.model,
            filters=filters.model_dump(exclude_none=True) if filters else {},
        )
        if not query.strip():
            raise ApiError(422, "query is empty", field="query")
        if len(query) > limits.max_query_chars:
            raise ApiError(
                413, f"query has {len(query)} characters; the limit is {limits.max_query_chars}", field="query"
            )
        if types and self.content_type not in types:
            raise ApiError(
                422, f"unknown content_type {self.content_type!r}; known: {', '.join(types)}", field="content_type"
            )
        if k is not None and k > limits.max_k:
            raise ApiError(413, f"k={k} is above the limit of {limits.max_k}", field="k")
        if max_tokens is not None and max_tokens > limits.max_tokens:
            limit = limits.max_tokens
            raise ApiError(413, f"max_tokens={max_tokens} is above the limit of {limit}", field="max_tokens")
        if len(history) + 1 > limits.max_messages:
            raise ApiError(413, f"{len(history) + 1} messages; the limit is {limits.max_messages}", field="messages")
        if len(links) > max(cfg.rag.links.max_links, 0):
            raise ApiError(413, f"{len(links)} links; the limit is {cfg.rag.links.max_links}", field="links")
        from twin_core.rag.service import AnswerRequest

        params: dict[str, Any] = {
            "query": query,
            "content_type": self.content_type,
            "filters": _search_filters(filters),
            "k": k,
            "links": tuple(links),
            "history": tuple({"role": m.role, "content": m.text()} for m in history if m.text()),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "request_id": self.request_id,
        }
        accepted = _answer_request_params()
        self.answer_request = AnswerRequest(**{k_: v for k_, v in params.items() if k_ in accepted})
        self.started = time.perf_counter()
        self.first_token_s: float | None = None

    def fail(self, exc: BaseException) -> ApiError:
        """The API error for ``exc`` (logged; unknown errors become a 500 naming the request)."""
        mapped = map_error(exc)
        if mapped is None:
            log.error("generation failed", exc_info=exc, extra={"request_id": self.request_id})
            mapped = ApiError(500, f"generation failed (request {self.request_id})", type="internal_error")
        self.log["error"] = f"{type(exc).__name__}: {exc}"
        return mapped

    def finished(self, answer: Any) -> dict[str, Any]:
        """The JSON of a finished answer, and its prompt-log fields."""
        a = as_dict(answer) if not hasattr(answer, "text") else {f: getattr(answer, f, None) for f in _ANSWER_FIELDS}
        sources = [source_out(s) for s in a.get("sources") or []]
        timings = {k: float(v) for k, v in (a.get("timings") or {}).items() if isinstance(v, int | float)}
        usage = _usage(a.get("usage"))
        text = str(a.get("text") or "")
        self.log.update(
            prompt=a.get("prompt"),
            answer=text,
            retrieved_ids=list(a.get("retrieved_ids") or [s["chunk_id"] for s in sources]),
            sources=sources,
            usage={k: usage[k] for k in ("prompt_tokens", "completion_tokens")},
            guardrails=list(a.get("guardrails") or []),
            content_type=a.get("content_type") or self.content_type,
            latency={
                "retrieval_s": timings.get("retrieval_s"),
                "generation_s": timings.get("generation_s"),
                "first_token_s": self.first_token_s,
            },
        )
        return {
            "request_id": self.request_id,
            "answer": text,
            "sources": sources,
            "timings": timings,
            "usage": usage,
            "content_type": str(a.get("content_type") or self.content_type),
            "notes": [str(n) for n in a.get("notes") or []],
        }

    async def answer(self) -> dict[str, Any]:
        service = self.state.service()
        try:
            answer = await run_in_threadpool(service.answer, self.answer_request)
        except Exception as exc:
            raise self.fail(exc) from exc
        return self.finished(answer)

    async def events(self) -> AsyncIterator[tuple[str, Any]]:
        """The service's stream events; the first ones are pulled before the response starts (errors -> status)."""
        service = self.state.service()
        try:
            events: Iterator[Any] = iter(await run_in_threadpool(service.stream, self.answer_request))
            head = await run_in_threadpool(_prime, events)
        except Exception as exc:
            raise self.fail(exc) from exc
        return self._continue(head, events)

    async def _continue(self, head: list[Any], events: Iterator[Any]) -> AsyncIterator[tuple[str, Any]]:
        try:
            for ev in head:
                yield self._event(ev)
            async for ev in iterate_in_threadpool(events):
                yield self._event(ev)
        except Exception as exc:
            err = self.fail(exc)
            yield "error", err.body()

    def _event(self, ev: Any) -> tuple[str, Any]:
        kind, data = getattr(ev, "kind", None), getattr(ev, "data", None)
        if kind is None and isinstance(ev, tuple):
            kind, data = ev
        if kind == "delta" and self.first_token_s is None:
            self.first_token_s = round(time.perf_counter() - self.started, 4)
        if kind == "sources":
            return "sources", [source_out(s) for s in data or []]
        if kind == "done":
            return "done", self.finished(data)
        return str(kind), data


_ANSWER_FIELDS = (
    "request_id",
    "text",
    "sources",
    "timings",
    "usage",
    "prompt",
    "retrieved_ids",
    "content_type",
    "guardrails",
    "notes",
)


def _prime(events: Iterator[Any]) -> list[Any]:
    """Events up to the first piece of generated text (or the end): model errors surface before the 200."""
    head = []
    for ev in events:
        head.append(ev)
        if getattr(ev, "kind", None) in ("delta", "done") or (isinstance(ev, tuple) and ev[0] in ("delta", "done")):
            break
    return head
