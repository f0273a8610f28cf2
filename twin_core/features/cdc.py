"""Change data capture: which raw documents need featurising, given what the feature store and vector store hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin_core.domain.documents import CleanedDocument
from twin_core.domain.ids import content_hash

#: Bump when cleaning or chunking code changes its output: every document is then re-featurised once.
FEATURES_VERSION = "1"
STATE_COLLECTION, SKIPPED_KEY = "feature_state", "skipped"


def feature_signature(cleaning: Any, chunking: Any, model_id: str, max_tokens: int) -> str:
    """A hash of everything that shapes chunks and vectors; documents made under another signature are redone."""
    return content_hash(
        {
            "version": FEATURES_VERSION,
            "cleaning": cleaning.model_dump(mode="json"),
            "chunking": chunking.model_dump(mode="json"),
            "model": model_id,
            "max_tokens": max_tokens,
        }
    )


@dataclass(frozen=True)
class Featurised:
    """What the last run recorded for one document: its raw hash, the signature, and how many chunks it wrote."""

    raw_content_hash: str
    signature: str
    chunks: int


@dataclass
class FeatureState:
    """The feature store's view (cleaned and skipped documents) and the vector store's (chunk ids per document)."""

    cleaned: dict[str, Featurised] = field(default_factory=dict)
    skipped: dict[str, Featurised] = field(default_factory=dict)
    stored: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class ChangePlan:
    """Raw document ids sorted by what happens to them in this run."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def to_process(self) -> list[str]:
        """New, changed and refreshed ids: these are cleaned, chunked and embedded."""
        return [*self.new, *self.changed, *self.refreshed]


def featurised(doc: CleanedDocument) -> Featurised:
    """The record a cleaned document carries in ``metadata['features']`` (written by the pipeline)."""
    meta = doc.metadata.get("features") or {}
    return Featurised(doc.raw_content_hash, str(meta.get("signature", "")), int(meta.get("chunks", -1)))


def _vectors_disagree(doc_id: str, done: Featurised, state: FeatureState) -> bool:
    """The vector store does not hold the chunk count recorded for a document (none at all for a skipped one)."""
    expected = done.chunks if doc_id in state.cleaned else 0
    return len(state.stored.get(doc_id, ())) != expected


def plan_changes(raw: dict[str, str], state: FeatureState, signature: str) -> ChangePlan:
    """Compare raw content hashes with the last run's records.

    changed: the raw hash differs; refreshed: same hash, but another signature or a chunk count the vector store
    does not match (a crash midway, a wiped collection); deleted: known to a store but gone from the warehouse.
    """
    plan = ChangePlan()
    for doc_id in sorted(raw):
        done = state.cleaned.get(doc_id) or state.skipped.get(doc_id)
        if done is None:
            plan.new.append(doc_id)
        elif done.raw_content_hash != raw[doc_id]:
            plan.changed.append(doc_id)
        elif done.signature != signature or _vectors_disagree(doc_id, done, state):
            plan.refreshed.append(doc_id)
        else:
            plan.unchanged.append(doc_id)
    known = set(state.cleaned) | set(state.skipped) | set(state.stored)
    plan.deleted = sorted(known - set(raw))
    return plan
