"""The RAG service: guardrails -> links (screened: a page that carries a prompt injection is dropped) -> retrieval ->
prompt (chat template, token budget) -> Triton -> guardrails.

``RagService.answer`` returns the whole answer with its sources; ``RagService.stream`` yields ``sources``, then
``delta`` pieces, then ``done`` with the full :class:`Answer`. The model is reached through
:class:`TritonGenerator` (HTTP for answers, gRPC streams); a server that cannot be reached raises
:class:`ModelUnavailable` (the API answers 503).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twin_core.rag.generator import Generator, TritonGenerator, resolve_endpoint, resolve_tokenizer_path
from twin_core.rag.links import LinkContext, LinkRefused, fetch_links, screen_links
from twin_core.rag.prompts import BuiltPrompt, build_prompt, count_tokens, cut_on_word, resolve_content_type
from twin_core.rag.retriever import Retrieval, Retriever
from twin_core.rag.settings import RagSettings
from twin_core.serving.client import TritonUnavailable
from twin_core.vectorstore.base import Hit, SearchFilters

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.rag")
SNIPPET_CHARS = 240

__all__ = [
    "Answer",
    "AnswerRequest",
    "Generator",
    "LinkRefused",
    "ModelUnavailable",
    "RagService",
    "Source",
    "StreamEvent",
    "TritonGenerator",
    "resolve_endpoint",
    "resolve_tokenizer_path",
]


class ModelUnavailable(RuntimeError):
    """The model server cannot be reached (the API answers 503)."""


@dataclass
class AnswerRequest:
    """One question and how to answer it."""

    query: str
    content_type: str | None = None
    filters: SearchFilters | None = None
    k: int | None = None
    links: Sequence[str] = ()
    history: Sequence[dict[str, str]] = ()
    max_tokens: int | None = None
    temperature: float | None = None
    request_id: str | None = None  # the caller's id (the API's X-Request-ID) so logs and feedback share it


@dataclass
class Source:
    """A retrieved chunk the answer was written from."""

    chunk_id: str
    document_id: str
    link: str
    title: str | None
    platform: str
    category: str
    author_name: str
    score: float
    snippet: str

    @classmethod
    def from_hit(cls, hit: Hit) -> Source:
        c = hit.chunk
        snippet = " ".join(c.content.split())
        if len(snippet) > SNIPPET_CHARS:
            snippet = cut_on_word(snippet, SNIPPET_CHARS) + " …"
        return cls(
            chunk_id=c.id,
            document_id=c.document_id,
            link=c.link,
            title=c.metadata.get("title") or None,
            platform=c.platform,
            category=str(c.category),
            author_name=c.author_name,
            score=round(float(hit.score), 6),
            snippet=snippet,
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Answer:
    """The answer, the sources it was written from, and how it was made."""

    request_id: str
    text: str
    sources: list[Source]
    timings: dict[str, float]
    usage: dict[str, int]
    prompt: str
    retrieved_ids: list[str]
    content_type: str
    guardrails: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class StreamEvent:
    """``sources`` (list[Source]), ``delta`` (str) or ``done`` (Answer)."""

    kind: str
    data: Any


def _decision(d: Any) -> dict[str, Any]:
    if isinstance(d, dict):
        return d
    if hasattr(d, "to_dict"):
        return dict(d.to_dict())
    if hasattr(d, "model_dump"):
        return dict(d.model_dump())
    return dict(d.__dict__)


class RagService:
    """Answers questions in the author's voice from retrieved context; thread-safe for concurrent requests."""

    def __init__(
        self,
        rag: RagSettings,
        retriever: Retriever,
        generator: Generator,
        *,
        tokenizer: Any = None,
        guardrails: Any = None,
        author_name: str | None = None,
        model_name: str | None = None,
        max_output_tokens: int | None = None,
        link_backend: Any = None,
    ) -> None:
        self.rag, self.retriever, self.generator = rag, retriever, generator
        self.tokenizer, self.guardrails = tokenizer, guardrails
        self.author_name = author_name
        self.model_name = model_name or rag.generator.model
        self.max_output_tokens = max_output_tokens
        self.link_backend = link_backend

    @classmethod
    def from_settings(cls, cfg: TwinSettings, *, generator: Generator | None = None) -> RagService:
        """Retriever, Triton endpoint, the deployed model's chat template and the guardrails of ``cfg``."""
        from twin_core.guardrails import Guardrails
        from twin_core.llm.chat import load_chat_tokenizer

        http_url, grpc_url, tok_path = resolve_endpoint(cfg)
        g = cfg.rag.generator
        generator = generator or TritonGenerator(http_url, grpc_url, g.model, g.timeout_s, g.retries)
        tokenizer = None
        if tok_path:
            try:
                tokenizer = load_chat_tokenizer(tok_path)
            except RuntimeError as exc:
                log.warning("prompts fall back to ChatML without a tokenizer: %s", exc)
        else:
            log.warning("no tokenizer (rag.generator.tokenizer unset, no deployment found): prompts use ChatML")
        retriever = Retriever.from_settings(cfg)
        authors = [a.full_name for a in retriever.authors()] or [a.full_name for a in cfg.sources.authors]
        log.info("rag service ready http=%s grpc=%s tokenizer=%s", http_url, grpc_url, tok_path)
        return cls(
            cfg.rag,
            retriever,
            generator,
            tokenizer=tokenizer,
            guardrails=Guardrails(cfg.guardrails),
            author_name=authors[0] if authors else None,
            model_name=g.model,
            max_output_tokens=cfg.serving.max_output_len,
        )

    # helpers

    def health(self) -> dict[str, Any]:
        """Whether the model server answers ready (GET /health)."""
        ready = False
        try:
            ready = bool(self.generator.is_ready())
        except Exception as exc:
            log.warning("health check failed: %s", exc)
        out: dict[str, Any] = {"status": "ok" if ready else "unavailable", "model": self.model_name, "ready": ready}
        for name in ("http_url", "grpc_url"):
            if (value := getattr(self.generator, name, None)) is not None:
                out[name] = value
        return out

    def close(self) -> None:
        self.retriever.close()
        if (close := getattr(self.generator, "close", None)) is not None:
            close()

    def _check_input(self, text: str, decisions: list[dict[str, Any]]) -> str:
        if self.guardrails is None:
            return text
        result = self.guardrails.check_input(text, where="query")
        decisions += [_decision(d) for d in result.decisions]
        return str(result.text)

    def _prepare(
        self, req: AnswerRequest, request_id: str
    ) -> tuple[str, Any, BuiltPrompt, Retrieval, dict[str, Any], list[dict[str, Any]], float]:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        decisions: list[dict[str, Any]] = []
        query = self._check_input(req.query, decisions)
        type_name, content_type = resolve_content_type(self.rag, req.content_type)
        links: list[LinkContext] = []
        notes: list[str] = []
        if req.links:
            t = time.perf_counter()
            links = fetch_links(list(req.links), self.rag.links, backend=self.link_backend)
            links, link_decisions, notes = screen_links(links, self.guardrails)
            decisions += [_decision(d) for d in link_decisions]
            timings["links_s"] = time.perf_counter() - t
        t = time.perf_counter()
        retrieval = self.retriever.retrieve(query, req.filters, req.k)
        timings["retrieval_s"] = time.perf_counter() - t
        timings |= {f"retrieval_{k}": v for k, v in retrieval.timings.items() if k != "total_s"}
        author = (retrieval.self_query.author_name if retrieval.self_query else None) or self.author_name
        t = time.perf_counter()
        prompt = build_prompt(
            query,
            retrieval.hits,
            links,
            content_type,
            self.rag,
            author or "the author",
            self.tokenizer,
            req.history,
        )
        timings["prompt_s"] = time.perf_counter() - t
        info = {"type_name": type_name, "timings": timings, "request_id": request_id, "notes": notes}
        return query, content_type, prompt, retrieval, info, decisions, t0

    def _params(self, req: AnswerRequest, content_type: Any) -> dict[str, Any]:
        max_tokens = req.max_tokens or content_type.max_tokens
        if self.max_output_tokens:
            max_tokens = min(max_tokens, self.max_output_tokens)
        g = self.rag.generator
        temperature = g.temperature if req.temperature is None else req.temperature
        return {"max_tokens": max_tokens, "temperature": temperature, "top_p": g.top_p}

    def _answer(
        self,
        text: str,
        content_type: Any,
        prompt: BuiltPrompt,
        retrieval: Retrieval,
        info: dict[str, Any],
        decisions: list[dict[str, Any]],
        t0: float,
    ) -> Answer:
        timings = info["timings"]
        timings["total_s"] = time.perf_counter() - t0
        return Answer(
            request_id=info["request_id"],
            text=text,
            sources=[Source.from_hit(h) for h in prompt.hits],
            timings={k: round(v, 6) for k, v in timings.items()},
            usage={"prompt_tokens": prompt.prompt_tokens, "completion_tokens": count_tokens(self.tokenizer, text)},
            prompt=prompt.text,
            retrieved_ids=[h.chunk.id for h in retrieval.hits],
            content_type=info["type_name"],
            guardrails=decisions,
            notes=[*info["notes"], *retrieval.notes, *prompt.notes],
        )

    # the two ways to answer

    def answer(self, req: AnswerRequest) -> Answer:
        """The whole answer with its sources. Raises GuardrailBlocked, LinkRefused, ModelUnavailable."""
        request_id = req.request_id or uuid.uuid4().hex
        _, content_type, prompt, retrieval, info, decisions, t0 = self._prepare(req, request_id)
        t = time.perf_counter()
        try:
            raw = self.generator.generate(prompt.text, **self._params(req, content_type))
        except TritonUnavailable as exc:
            raise ModelUnavailable(f"the model server is unavailable: {exc}") from exc
        info["timings"]["generation_s"] = time.perf_counter() - t
        text = cut_on_word(raw.strip(), content_type.max_chars)
        if self.guardrails is not None:
            checked = self.guardrails.check_output(text)
            text = str(checked.text)
            decisions += [_decision(d) for d in checked.decisions]
        answer = self._answer(text, content_type, prompt, retrieval, info, decisions, t0)
        log.info(
            "answered request_id=%s sources=%d total_s=%.3f",
            request_id,
            len(answer.sources),
            answer.timings["total_s"],
            extra={"request_id": request_id, "timings": answer.timings},
        )
        return answer

    def stream(self, req: AnswerRequest) -> Iterator[StreamEvent]:
        """``sources``, then ``delta`` pieces as the model writes, then ``done`` with the :class:`Answer`.

        Everything that can fail before the first token (guardrails, links, retrieval, an unreachable model)
        raises when the first event is requested, so a caller can still answer with an error status."""
        request_id = req.request_id or uuid.uuid4().hex
        _, content_type, prompt, retrieval, info, decisions, t0 = self._prepare(req, request_id)
        timings = info["timings"]
        t = time.perf_counter()
        pieces = self.generator.stream(prompt.text, **self._params(req, content_type))
        try:
            first = next(pieces, None)
        except TritonUnavailable as exc:
            raise ModelUnavailable(f"the model server is unavailable: {exc}") from exc
        timings["first_token_s"] = time.perf_counter() - t0
        guard = self.guardrails.stream_guard() if self.guardrails is not None else None
        limit = content_type.max_chars
        raw, sent = "", ""
        yield StreamEvent("sources", [Source.from_hit(h) for h in prompt.hits])

        def emit(text: str) -> str:
            nonlocal sent
            if guard is not None:
                text = guard.feed(text)
            if limit is not None and len(sent) + len(text) > limit:
                text = cut_on_word(sent + text, limit)[len(sent) :]
            sent += text
            return text

        try:
            stopped = False
            for piece in [first] if first is not None else []:
                raw += piece
                if out := emit(piece):
                    yield StreamEvent("delta", out)
            for piece in pieces:
                if stopped:
                    continue  # drain: the server finishes the request anyway
                raw += piece
                if out := emit(piece):
                    yield StreamEvent("delta", out)
                stopped = limit is not None and len(sent) >= limit
        except TritonUnavailable as exc:
            raise ModelUnavailable(f"the model server went away mid-stream: {exc}") from exc
        if guard is not None:
            tail = guard.finish()
            if limit is not None:
                tail = cut_on_word(sent + tail, limit)[len(sent) :]
            if tail:
                sent += tail
                yield StreamEvent("delta", tail)
            decisions += [_decision(d) for d in guard.decisions]
        timings["generation_s"] = time.perf_counter() - t
        answer = self._answer(sent, content_type, prompt, retrieval, info, decisions, t0)
        log.info(
            "streamed request_id=%s sources=%d chars=%d total_s=%.3f",
            request_id,
            len(answer.sources),
            len(sent),
            answer.timings["total_s"],
            extra={"request_id": request_id, "timings": answer.timings},
        )
        yield StreamEvent("done", answer)
