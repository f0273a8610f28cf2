"""RagService end to end: a LanceDB store of real MiniLM embeddings of demo-corpus passages, the real tritonserver
serving the tiny model (HTTP answers, gRPC streams), the tiny model's tokenizer; and a server that is down."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from twin_core.demo.fixture_corpus import default_corpus_dir, load_author, load_docs
from twin_core.domain.chunks import EmbeddedChunk
from twin_core.domain.documents import Author
from twin_core.rag.service import AnswerRequest, ModelUnavailable, RagService, TritonGenerator
from twin_core.serving.repository import copy_models
from twin_core.serving.tiny import build_tiny_llama
from twin_core.serving.triton_dist import prepare_runtime
from twin_core.serving.triton_server import TritonServer
from twin_core.vectorstore import SearchFilters, open_store

pytestmark = pytest.mark.integration
PLATFORM = {"medium": "medium", "substack": "substack", "blog": "web"}


def passages(per_kind: int = 12) -> list[tuple[str, str, str, int, str]]:
    """(platform, slug, title, position, text) paragraphs of the demo author's articles."""
    out = []
    for kind, platform in PLATFORM.items():
        found = 0
        for doc in load_docs(default_corpus_dir(), kind):
            paras = [p.strip() for p in doc.body.split("\n\n") if len(p.strip()) > 200 and not p.startswith("```")]
            for i, para in enumerate(paras[:2]):
                out.append((platform, doc.slug, doc.title, i, para[:1200]))
                found += 1
            if found >= per_kind:
                break
    return out


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from hydra.core.global_hydra import GlobalHydra

    from twin_core.config.loader import load_settings

    tmp = tmp_path_factory.mktemp("rag")
    weights = build_tiny_llama(tmp / "tiny")
    settings = load_settings(
        [
            f"paths.data_dir={tmp / 'data'}",
            f"rag.generator.tokenizer={weights}",
            "rag.generator.http_url=http://127.0.0.1:1",  # replaced per test: the server's port is known later
            "rag.generator.grpc_url=grpc://127.0.0.1:1",
            "rag.generator.retries=0",
            "guardrails=off",
        ]
    )
    GlobalHydra.instance().clear()
    yield settings


@pytest.fixture(scope="module")
def author(cfg: Any) -> Author:
    from twin_core.warehouse.repository import connect

    a = Author(full_name=load_author(default_corpus_dir())["full_name"])
    with connect(cfg.warehouse) as wh:
        wh.upsert_author(a)
    return a


@pytest.fixture(scope="module")
def chunk_ids(cfg: Any, author: Author) -> set[str]:
    from twin_core.features.embedding import Embedder

    rows = passages()
    vectors = Embedder(cfg.embedding).embed([r[4] for r in rows])
    chunks = [
        EmbeddedChunk(
            document_id=f"doc-{slug}",
            author_id=author.id,
            author_name=author.full_name,
            category="article",
            platform=platform,
            link=f"https://example.org/{slug}",
            position=pos,
            content=text,
            metadata={"title": title},
            embedding=vec.tolist(),
            embedding_model=cfg.embedding.model_id,
        )
        for (platform, slug, title, pos, text), vec in zip(rows, vectors, strict=True)
    ]
    store = open_store(cfg.vector_store)
    store.ensure_collection(cfg.embedding.model_id, cfg.embedding.dimension)
    store.upsert(chunks)
    store.close()
    assert 24 <= len(chunks) <= 40
    return {c.id for c in chunks}


@pytest.fixture(scope="module")
def server(cfg: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    repo = copy_models(
        tmp_path_factory.mktemp("repo"),
        params={"model_path": cfg.rag.generator.tokenizer, "torch_threads": "1"},
        instance_count=1,
    )
    srv = TritonServer(
        repo,
        load_models=["twin_llm", "twin_llm_stream"],
        runtime=prepare_runtime(),
        env={"OMP_NUM_THREADS": "1"},
        log_file=tmp_path_factory.mktemp("logs") / "tritonserver.log",
    )
    with srv:
        yield srv


@pytest.fixture(scope="module")
def service(cfg: Any, server: TritonServer, chunk_ids: set[str]) -> Iterator[RagService]:
    g = cfg.rag.generator
    settings = cfg.model_copy(
        update={
            "rag": cfg.rag.model_copy(
                update={"generator": g.model_copy(update={"http_url": server.http_url, "grpc_url": server.grpc_url})}
            )
        }
    )
    svc = RagService.from_settings(settings)
    yield svc
    svc.close()


def test_answer_end_to_end_with_sources_from_the_store(service: RagService, chunk_ids: set[str]) -> None:
    assert service.health()["ready"] is True
    ans = service.answer(AnswerRequest("How do you know if your embeddings are lying to you?", k=4, temperature=0.0))
    assert ans.text.strip() and ans.usage["completion_tokens"] > 0
    assert 1 <= len(ans.sources) <= 4 and {s.chunk_id for s in ans.sources} <= chunk_ids
    assert set(ans.retrieved_ids) <= chunk_ids
    assert any("embedding" in s.snippet.lower() or "embedding" in (s.title or "").lower() for s in ans.sources)
    assert ans.usage["prompt_tokens"] <= service.rag.generator.max_input_tokens
    assert "<|im_start|>system" in ans.prompt and "Ysolde Brannagh" in ans.prompt  # ChatML fallback, the author
    on_medium = service.answer(AnswerRequest("Ysolde Brannagh on Medium about on-call alerts", k=3, max_tokens=8))
    assert on_medium.sources and {s.platform for s in on_medium.sources} == {"medium"}
    filtered = service.answer(AnswerRequest("pipelines", filters=SearchFilters(platform="web"), k=2, max_tokens=4))
    assert filtered.sources and {s.platform for s in filtered.sources} == {"web"}


def test_stream_end_to_end(service: RagService, chunk_ids: set[str]) -> None:
    req = AnswerRequest("What does a good on-call alert look like?", k=3, max_tokens=12, temperature=0.0)
    events = list(service.stream(req))  # greedy: a sampled stream may end after one token
    assert events[0].kind == "sources" and events[-1].kind == "done"
    deltas = [e.data for e in events if e.kind == "delta"]
    done = events[-1].data
    assert len(deltas) > 1 and "".join(deltas) == done.text
    assert {s.chunk_id for s in done.sources} <= chunk_ids
    assert done.timings["first_token_s"] <= done.timings["total_s"]


def test_model_unavailable_when_the_server_is_down(service: RagService) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    down = RagService(
        service.rag,
        service.retriever,
        TritonGenerator(f"http://127.0.0.1:{port}", f"grpc://127.0.0.1:{port}", retries=0, timeout_s=5),
        tokenizer=service.tokenizer,
    )
    with pytest.raises(ModelUnavailable, match="unavailable"):
        down.answer(AnswerRequest("on-call alerts", max_tokens=4))
    with pytest.raises(ModelUnavailable):
        next(iter(down.stream(AnswerRequest("on-call alerts", max_tokens=4))))
    assert down.health()["ready"] is False


def test_weights_path_is_a_folder(cfg: Any) -> None:
    assert (Path(cfg.rag.generator.tokenizer) / "config.json").is_file()
