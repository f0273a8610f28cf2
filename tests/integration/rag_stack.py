"""A real RAG stack for the API tests: demo-corpus chunks embedded with MiniLM into LanceDB, the author in the
warehouse, and a tiny Llama served by a real tritonserver (HTTP + gRPC), all under a temporary data folder.

    stack = build_stack(tmp_path_factory.mktemp("stack"))   # ~10 s; stack.close() stops Triton
    cfg = stack.settings("api.limits.max_tokens=8")         # composed settings pointing at it
"""

from __future__ import annotations

import atexit
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
CHUNKS = 40
KEY = "test-key-0123456789"


@dataclass
class RagStack:
    """What the stack serves: its data folder, Triton, the tiny model and the stored chunk ids."""

    root: Path
    data_dir: Path
    weights: Path
    server: Any
    chunk_ids: set[str] = field(default_factory=set)
    author: str = ""

    def overrides(self) -> list[str]:
        return [
            f"paths.data_dir={self.data_dir}",
            f"rag.generator.http_url={self.server.http_url}",
            f"rag.generator.grpc_url={self.server.grpc_url}",
            f"rag.generator.tokenizer={self.weights}",
            "rag.generator.timeout_s=30",
            "rag.generator.retries=0",
            "rag.generator.temperature=0",  # greedy: the tiny model's sampled output is sometimes empty
        ]

    def settings(self, *extra: str) -> Any:
        """The composed settings of the stack, with ``extra`` overrides."""
        from hydra.core.global_hydra import GlobalHydra

        from twin_core.config.loader import load_settings

        try:
            return load_settings([*self.overrides(), *extra])
        finally:
            GlobalHydra.instance().clear()

    def stored_ids(self) -> set[str]:
        """Every chunk id in the vector store (read back from the store, not from memory)."""
        from twin_core.vectorstore import open_store

        store = open_store(self.settings().vector_store)
        try:
            return {cid for ids in store.chunk_ids_by_document().values() for cid in ids}
        finally:
            store.close()

    def close(self) -> None:
        self.server.stop()


def _spread(chunk_lists: list[list[Any]], n: int) -> list[Any]:
    """Up to ``n`` chunks taken round-robin across documents (every platform represented)."""
    out = []
    for group in itertools.zip_longest(*chunk_lists):
        out.extend(c for c in group if c is not None)
    return out[:n]


def load_corpus(cfg: Any, n: int = CHUNKS) -> tuple[set[str], str]:
    """Embed ``n`` demo-corpus chunks into the vector store and register the author; (chunk ids, author name)."""
    from twin_core.datasets.demo_docs import demo_cleaned_documents
    from twin_core.domain import Author
    from twin_core.domain.chunks import EmbeddedChunk
    from twin_core.features.chunking import chunk_document
    from twin_core.features.embedding import Embedder
    from twin_core.features.tokens import load_token_counter
    from twin_core.vectorstore import open_store
    from twin_core.warehouse import connect

    docs = demo_cleaned_documents()
    counter = load_token_counter(cfg.embedding)
    max_tokens = min(cfg.chunking.max_tokens, cfg.embedding.max_seq_length)
    chunks = _spread([chunk_document(d, cfg.chunking, counter, max_tokens) for d in docs], n)
    embedder = Embedder(cfg.embedding)
    vectors = embedder.embed([c.content for c in chunks])
    embedded = [
        EmbeddedChunk(**c.model_dump(), embedding=v.tolist(), embedding_model=embedder.model_id)
        for c, v in zip(chunks, vectors, strict=True)
    ]
    store = open_store(cfg.vector_store)
    try:
        store.ensure_collection(embedder.model_id, cfg.embedding.dimension)
        store.upsert(embedded)
    finally:
        store.close()
    author = docs[0].author_name
    with connect(cfg.warehouse) as wh:
        wh.upsert_author(Author(full_name=author))
    return {c.id for c in embedded}, author


def start_triton(root: Path) -> tuple[Any, Path]:
    """A tiny Llama served by a real tritonserver on free ports (``twin_llm`` and ``twin_llm_stream``)."""
    from twin_core.serving.repository import copy_models
    from twin_core.serving.tiny import build_tiny_llama
    from twin_core.serving.triton_dist import prepare_runtime
    from twin_core.serving.triton_server import TritonServer

    weights = build_tiny_llama(root / "weights", seed=1)
    repo = copy_models(root / "repo", params={"model_path": str(weights), "torch_threads": "1"}, instance_count=1)
    server = TritonServer(
        repo,
        load_models=["twin_llm", "twin_llm_stream"],
        runtime=prepare_runtime(),
        env={"OMP_NUM_THREADS": "1"},
        log_file=root / "tritonserver.log",
    )
    server.start()
    return server, weights


def build_stack(root: Path) -> RagStack:
    """Data, vectors, author and Triton under ``root``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    server, weights = start_triton(root)
    stack = RagStack(root=root, data_dir=root / "data", weights=weights, server=server)
    try:
        stack.chunk_ids, stack.author = load_corpus(stack.settings())
    except BaseException:
        stack.close()
        raise
    return stack


_SHARED: list[RagStack] = []


def shared_stack(tmp_path_factory: Any) -> RagStack:
    """One stack per test process, shared by the API, schema and browser tests (Triton stopped at exit)."""
    if not _SHARED:
        stack = build_stack(tmp_path_factory.mktemp("rag_stack"))
        atexit.register(_close_shared)
        _SHARED.append(stack)
    return _SHARED[0]


def _close_shared() -> None:
    while _SHARED:
        stack = _SHARED.pop()
        stack.close()
        stack.server = None  # collected now, while the interpreter is whole


def stack_fixture(tmp_path_factory: Any) -> Iterator[RagStack]:
    """Body of a module-scoped fixture: ``yield from stack_fixture(tmp_path_factory)`` (the shared stack)."""
    yield shared_stack(tmp_path_factory)


def artifact(name: str) -> Path:
    """A path under ``var/test-artifacts/`` (git-ignored), its folder created."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
