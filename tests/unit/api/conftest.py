"""The API on its real parts: the real RagService (retrieval over a small real LanceDB corpus embedded with MiniLM,
the authors in the real warehouse, the real guardrails and prompt building) and the real PromptMonitor, all on the
test's temporary settings. Only the model server is scripted: :class:`ScriptedModelServer` stands in for Triton, the
one boundary outside this process (the real Triton path is in tests/integration/test_api.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from twin_core.domain.documents import Author
from twin_core.serving.client import TritonUnavailable

KEY = "unit-test-key"
ANSWER_PIECES = ("Hello", " there", " friend")
ADA = Author(full_name="Ada Quill", handle="adaquill")
BEN = Author(full_name="Ben Harrow", handle="benh")

# (author, platform, category, document, text): the corpus the retriever searches
CORPUS = [
    (ADA, "substack", "article", "oncall", "On-call alerts should page a human only when users are hurt right now."),
    (ADA, "substack", "article", "oncall", "Alert fatigue: noisy pages at 3am teach engineers to ignore the pager."),
    (ADA, "medium", "article", "embed", "Embeddings drift when the model changes; re-embed everything, check recall."),
    (ADA, "medium", "article", "embed", "Cosine similarity of normalised embeddings ranks chunks for retrieval."),
    (ADA, "linkedin", "post", "bread", "My sourdough starter survived the weekend; hydration at seventy percent."),
    (ADA, "github", "code", "chunker", "def chunk(text, n): return [text[i:i + n] for i in range(0, len(text), n)]"),
    (BEN, "medium", "article", "search", "Embeddings for search: pick a model, normalise vectors, measure recall."),
    (BEN, "linkedin", "post", "backfill", "Backfills are the pipeline work nobody puts on the slide, yet they matter."),
    (BEN, "substack", "article", "testing", "Testing ML systems: golden datasets, property tests, benchmarks."),
    (BEN, "substack", "article", "pager", "Paging policy: wake someone up only for outages that customers can see."),
]


class ScriptedModelServer:
    """Stands in for Triton, the model server outside this process: implements the ``Generator`` protocol of
    twin_core/rag/service.py (``generate``/``stream``/``is_ready``) with a scripted answer, and keeps the prompts it
    was sent. Set ``error`` to make every call fail as the real client does, e.g. ``TritonUnavailable`` for a server
    that is down (``is_ready`` is then False)."""

    def __init__(self, pieces: Sequence[str] = ANSWER_PIECES) -> None:
        self.pieces = tuple(pieces)
        self.error: BaseException | None = None
        self.prompts: list[str] = []

    def generate(
        self, prompt: str, max_tokens: int, temperature: float, top_p: float, stop: Sequence[str] | None = None
    ) -> str:
        if self.error is not None:
            raise self.error
        self.prompts.append(prompt)
        return "".join(self.pieces)

    def stream(
        self, prompt: str, max_tokens: int, temperature: float, top_p: float, stop: Sequence[str] | None = None
    ) -> Iterator[str]:
        if self.error is not None:  # raised on the first piece, as the gRPC stream of TritonLLMClient does
            raise self.error
        self.prompts.append(prompt)
        yield from self.pieces

    @property
    def answer(self) -> str:
        """The whole scripted answer."""
        return "".join(self.pieces)

    def is_ready(self) -> bool:
        return self.error is None

    def go_down(self) -> None:
        """Fail like a Triton that cannot be reached."""
        self.error = TritonUnavailable("Triton at http://127.0.0.1:1 is unavailable after 1 attempts")


def _settings(*overrides: str) -> Any:
    from hydra.core.global_hydra import GlobalHydra

    from twin_core.config.loader import load_settings

    try:
        return load_settings(list(overrides))
    finally:
        GlobalHydra.instance().clear()


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LanceDB folder holding :data:`CORPUS` embedded with the real MiniLM (built once; tests only read it)."""
    from twin_core.domain.chunks import EmbeddedChunk
    from twin_core.features.embedding import Embedder
    from twin_core.vectorstore import open_store

    cfg = _settings(f"paths.data_dir={tmp_path_factory.mktemp('api_corpus')}")
    embedder = Embedder(cfg.embedding)
    vectors = embedder.embed([text for *_, text in CORPUS])
    chunks = [
        EmbeddedChunk(
            document_id=doc,
            author_id=author.id,
            author_name=author.full_name,
            category=category,
            platform=platform,
            link=f"https://{platform}.example.org/{doc}",
            position=position,
            content=text,
            metadata={"title": f"On {doc}"},
            embedding=vector.tolist(),
            embedding_model=embedder.model_id,
        )
        for position, ((author, platform, category, doc, text), vector) in enumerate(zip(CORPUS, vectors, strict=True))
    ]
    store = open_store(cfg.vector_store)
    try:
        store.ensure_collection(embedder.model_id, cfg.embedding.dimension)
        store.upsert(chunks)
    finally:
        store.close()
    return Path(cfg.vector_store.path)


@pytest.fixture
def api_settings(make_settings: Callable[..., Any], corpus_dir: Path) -> Any:
    """The real settings on the test's data folder, reading the shared corpus; the authors in its warehouse.
    The guardrail's size limit sits under the API's query limit, so both can be reached."""
    from twin_core.warehouse import connect

    cfg = make_settings(
        f"paths.vector_dir={corpus_dir}",
        "api.limits.max_body_bytes=2000",
        "api.limits.max_query_chars=100",
        "guardrails.input.max_chars=80",
    )
    with connect(cfg.warehouse) as wh:
        for author in (ADA, BEN):
            wh.upsert_author(author)
    return cfg


@pytest.fixture
def author() -> Author:
    """An author of the corpus (her documents include ``oncall`` on substack)."""
    return ADA


@pytest.fixture
def model_server() -> ScriptedModelServer:
    return ScriptedModelServer()


@pytest.fixture
def client(api_settings: Any, model_server: ScriptedModelServer) -> Iterator[Any]:
    """A TestClient (with a key) of ``create_app`` on the real RagService, whose model server is scripted; the app
    builds its own PromptMonitor from the settings."""
    from fastapi.testclient import TestClient

    from twin_core.api.app import create_app
    from twin_core.rag.service import RagService

    service = RagService.from_settings(api_settings, generator=model_server)
    app = create_app(api_settings, service=service, keys=[KEY, "second-key"])
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as c:
        yield c


@pytest.fixture
def monitor(client: Any) -> Any:
    """The app's real PromptMonitor (warehouse of the test's data folder)."""
    return client.app.state.api.monitor()
