"""Train/test split by document with a fixed seed: every sample of a document lands in the same split."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol, TypeVar


class _Traced(Protocol):
    id: str
    document_id: str
    category: str


S = TypeVar("S", bound=_Traced)


def _rank(seed: int, doc_id: str) -> str:
    return hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()


def held_out_documents(samples: Sequence[_Traced], fraction: float, seed: int) -> set[str]:
    """Held-out document ids: per category, the first ``ceil(fraction * n)`` by a seeded hash (one, when n >= 2)."""
    by_category: dict[str, set[str]] = defaultdict(set)
    for s in samples:
        by_category[s.category].add(s.document_id)
    held: set[str] = set()
    for docs in by_category.values():
        if len(docs) < 2:
            continue
        k = min(len(docs) - 1, max(1, math.ceil(fraction * len(docs))))
        held.update(sorted(docs, key=lambda d: _rank(seed, d))[:k])
    return held


def split_by_document(samples: Sequence[S], test_docs: set[str]) -> tuple[list[S], list[S]]:
    """(train, test), each sorted by sample id so the same input always gives the same files."""
    train = sorted((s for s in samples if s.document_id not in test_docs), key=lambda s: s.id)
    test = sorted((s for s in samples if s.document_id in test_docs), key=lambda s: s.id)
    return train, test
