"""Exact and near-duplicate removal: normalised text hashes, then MinHash LSH over word shingles."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from twin_core.datasets.filters import normalized

T = TypeVar("T")
_TOKEN = re.compile(r"\w+")
MINHASH_SEED = 1


def exact_dedup(items: Sequence[T], key: Callable[[T], str]) -> tuple[list[T], int]:
    """Keep the first item of every normalised key; returns (kept, number dropped)."""
    seen: set[str] = set()
    kept = []
    for item in items:
        digest = hashlib.sha256(normalized(key(item)).encode()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept.append(item)
    return kept, len(items) - len(kept)


def shingles(text: str, n: int) -> set[str]:
    """Word n-grams of the lower-cased text (the whole text when it is shorter than ``n`` words)."""
    words = _TOKEN.findall(text.lower())
    if len(words) <= n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def near_dedup(
    items: Sequence[T],
    *,
    text: Callable[[T], str],
    key: Callable[[T], str],
    group: Callable[[T], str] | None = None,
    threshold: float,
    num_perm: int = 128,
    shingle_words: int = 5,
) -> tuple[list[T], int]:
    """Drop an item whose MinHash Jaccard with an earlier kept item is ``>= threshold``; items of one group never clash.

    Groups let several instructions for the same extract (same answer) survive; exact copies are removed earlier.
    """
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    signatures: dict[str, MinHash] = {}
    groups: dict[str, str] = {}
    kept = []
    for item in items:
        sig = MinHash(num_perm=num_perm, seed=MINHASH_SEED)
        sig.update_batch([s.encode() for s in sorted(shingles(text(item), shingle_words))])
        own = group(item) if group else key(item)
        clash = any(groups[other] != own and signatures[other].jaccard(sig) >= threshold for other in lsh.query(sig))
        if clash:
            continue
        k = key(item)
        if k not in signatures:
            lsh.insert(k, sig)
            signatures[k], groups[k] = sig, own
        kept.append(item)
    return kept, len(items) - len(kept)
