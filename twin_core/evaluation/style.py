"""Style fidelity without a judge: embedding-centroid similarity and a stylometric profile distance."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np

_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*")
_DASH = re.compile(r"—|–|--| - ")
MATTR_WINDOW = 50
PUNCTUATION: dict[str, re.Pattern[str]] = {
    "commas": re.compile(r","),
    "dashes": _DASH,
    "question_marks": re.compile(r"\?"),
    "exclamations": re.compile(r"!"),
    "apostrophes": re.compile(r"['’]"),
    "semicolons": re.compile(r";"),
    "colons": re.compile(r":"),
    "parentheses": re.compile(r"\("),
}
Embed = Callable[[Sequence[str]], np.ndarray]


def words(text: str) -> list[str]:
    """Lower-cased words; contractions (``don't``) stay one word."""
    return [w.lower() for w in _WORD.findall(text)]


def sentences(text: str) -> list[str]:
    """Sentences ending in ``.``, ``!`` or ``?`` (a trailing fragment counts as one); empty ones dropped."""
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        parts.append(text[start : match.end()])
        start = match.end()
    parts.append(text[start:])
    return [p.strip() for p in parts if words(p)]


def mattr(tokens: Sequence[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio: plain TTR up to ``window`` words, else the mean over every window."""
    if not tokens:
        return 0.0
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    ratios = [len(set(tokens[i : i + window])) / window for i in range(len(tokens) - window + 1)]
    return float(sum(ratios) / len(ratios))


def profile(texts: Sequence[str]) -> dict[str, float]:
    """Mean words per sentence, mean word length, vocabulary richness (MATTR) and punctuation per 1000 chars."""
    sents = [s for t in texts for s in sentences(t)]
    tokens = [w for t in texts for w in words(t)]
    chars = sum(len(t) for t in texts)
    out = {
        "sentence_words": sum(len(words(s)) for s in sents) / len(sents) if sents else 0.0,
        "word_length": sum(len(w) for w in tokens) / len(tokens) if tokens else 0.0,
        "vocabulary_richness": mattr(tokens),
    }
    for name, pattern in PUNCTUATION.items():
        count = sum(len(pattern.findall(t)) for t in texts)
        out[f"{name}_per_1k"] = 1000.0 * count / chars if chars else 0.0
    return out


def profile_distance(a: dict[str, float], b: dict[str, float]) -> float:
    """Mean Canberra distance over the features (each term |a-b|/(|a|+|b|), 0 when both are 0): 0 same, 1 apart."""
    terms = [abs(a[k] - b[k]) / (abs(a[k]) + abs(b[k])) if (a[k] or b[k]) else 0.0 for k in b]
    return sum(terms) / len(terms)


def centroid_similarity(generated: np.ndarray, reference: np.ndarray) -> float:
    """Cosine between the mean generated vector and the mean reference vector (0 when either set is empty)."""
    if len(generated) == 0 or len(reference) == 0:
        return 0.0
    a, b = generated.mean(axis=0), reference.mean(axis=0)
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denom if denom > 0 else 0.0


def style_metrics(generated: Sequence[str], reference: Sequence[str], embed: Embed) -> dict[str, float]:
    """``style_similarity`` (centroid cosine), ``style_distance`` (profile) and the generated profile's features."""
    kept = [g for g in generated if g.strip()]
    gen_vecs = embed(kept) if kept else np.zeros((0, 1))
    ref_vecs = embed(list(reference))
    gen_profile, ref_profile = profile(kept), profile(reference)
    out = {
        "style_similarity": centroid_similarity(gen_vecs, ref_vecs),
        "style_distance": profile_distance(gen_profile, ref_profile),
        "empty_answers": float(len(generated) - len(kept)),
    }
    out.update({f"profile_{k}": v for k, v in gen_profile.items()})
    return {k: (0.0 if math.isnan(v) else v) for k, v in out.items()}
