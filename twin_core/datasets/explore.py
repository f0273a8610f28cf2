"""Exploration for the card: length histograms, a 2-D map of sample embeddings, and the most frequent topics."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger("twin.datasets")
Embed = Callable[[Sequence[str]], np.ndarray]
EXTRA_STOPWORDS = frozenset(
    {"https", "http", "www", "com", "org", "just", "like", "really", "actually", "thing", "things", "let"}
    | {"don", "didn", "doesn", "isn", "wasn", "aren", "won", "couldn", "wouldn", "shouldn", "haven", "hasn"}
)
_URL = re.compile(r"https?://\S+|www\.\S+")
_CONTRACTION = re.compile(r"'(s|t|re|ve|ll|d|m)\b", re.I)


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def length_histogram(path: Path, series: dict[str, Sequence[int]], title: str) -> Path:
    """A histogram of character lengths, one translucent series per name."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    every = [v for values in series.values() for v in values]
    bins = np.histogram_bin_edges(every, bins=30) if every else 30
    for name, values in series.items():
        if len(values):
            ax.hist(values, bins=bins, alpha=0.55, label=f"{name} (n={len(values)})")
    ax.set(title=title, xlabel="characters", ylabel="samples")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def tfidf_matrix(texts: Sequence[str]):  # type: ignore[no-untyped-def]
    """TF-IDF of the texts over English words (uni- and bigrams, stopwords removed)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | EXTRA_STOPWORDS),
        ngram_range=(1, 2),
        max_features=5000,
        min_df=2 if len(texts) >= 20 else 1,
        token_pattern=r"(?u)\b[a-zA-Z]{3,}\b",
        sublinear_tf=True,
    )
    cleaned = [_URL.sub(" ", _CONTRACTION.sub("", t.replace("’", "'"))) for t in texts]
    return vectorizer.fit_transform(cleaned), vectorizer.get_feature_names_out()


def top_topics(texts: Sequence[str], k: int) -> list[tuple[str, float]]:
    """The ``k`` terms with the highest summed TF-IDF weight (ties broken by term)."""
    if not texts:
        return []
    try:
        matrix, terms = tfidf_matrix(texts)
    except ValueError:  # empty vocabulary
        return []
    weights = np.asarray(matrix.sum(axis=0)).ravel()
    order = sorted(range(len(terms)), key=lambda i: (-weights[i], terms[i]))[:k]
    return [(str(terms[i]), round(float(weights[i]), 3)) for i in order]


def project_2d(texts: Sequence[str], method: str, seed: int, embed: Embed | None = None) -> tuple[np.ndarray, str]:
    """2-D coordinates of the texts: PCA of model embeddings when ``embed`` works, else SVD of TF-IDF."""
    n = len(texts)
    if n < 3 or method == "none":
        return np.zeros((n, 2)), "none"
    if method == "auto" and embed is not None:
        try:
            vectors = np.asarray(embed(texts), dtype=np.float64)
            centered = vectors - vectors.mean(axis=0)
            _, _, vt = np.linalg.svd(centered, full_matrices=False)
            return centered @ vt[:2].T, "embedding model + PCA"
        except Exception as exc:  # any model problem: the card still gets a map
            log.warning("dataset map: embedding failed (%s); using TF-IDF", exc)
    from sklearn.decomposition import TruncatedSVD

    try:
        matrix, _ = tfidf_matrix(texts)
    except ValueError:
        return np.zeros((n, 2)), "none"
    if matrix.shape[1] < 3:
        return np.zeros((n, 2)), "none"
    return TruncatedSVD(n_components=2, random_state=seed).fit_transform(matrix), "TF-IDF + truncated SVD"


def map_plot(path: Path, coords: np.ndarray, colours: dict[str, Sequence[str]], title: str) -> Path:
    """Scatter plots of the 2-D map, one panel per colouring (e.g. category, platform)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(colours), figsize=(5.5 * len(colours), 4.6), dpi=100, squeeze=False)
    for ax, (name, labels) in zip(axes[0], colours.items(), strict=True):
        for label in sorted(set(labels)):
            mask = np.array([lab == label for lab in labels])
            ax.scatter(coords[mask, 0], coords[mask, 1], s=12, alpha=0.7, label=label or "(none)")
        ax.set(title=f"{title}: by {name}", xticks=[], yticks=[])
        ax.legend(fontsize=7, loc="best", markerscale=1.5)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
