"""Human feedback on the twin's answers (thumbs up/down, edited answers) and its preference pairs for the next DPO run.

Pairing, per request (the latest feedback of a request wins):

- an edited answer: chosen = the edit, rejected = the original answer;
- thumbs up and thumbs down on answers to the same (normalised) query: chosen = up, rejected = down;
- a thumbs up with no thumbs down on its query: rejected = the llm group's answer to the same prompt (the
  mechanism the preference builder uses for its rejected answers), when a client is given; else unpaired;
- a thumbs down with no thumbs up on its query: unpaired (counted).

The pairs are rendered like every other preference row and go into the train split only.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twin_core.datasets.decontam import load_eval_texts, ngram_index, ngrams
from twin_core.datasets.dedup import exact_dedup
from twin_core.datasets.filters import apply, normalized, preference_reason
from twin_core.datasets.preference import prompt_messages
from twin_core.domain.ids import content_hash
from twin_core.domain.samples import PreferenceSample
from twin_core.llm.structured import Failure

if TYPE_CHECKING:
    from twin_core.datasets.builder import Bar, Built
    from twin_core.datasets.settings import DatasetSettings, PreferenceSettings
    from twin_core.llm.client import LLMClient
    from twin_core.warehouse import Warehouse

log = logging.getLogger("twin.datasets")

FEEDBACK_COLLECTION = "answer_feedback"
SOURCE = "feedback"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SIGNAL_FIELDS = ("request_id", "rating", "edited_answer", "query", "answer", "content_type", "model")


class Feedback(BaseModel):
    """One user's verdict on one answer: a rating, an edited answer, or both (a comment alone trains nothing)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    request_id: str = Field(description="The answer's request id (as returned by the API).")
    rating: Literal["up", "down"] | None = None
    edited_answer: str | None = Field(default=None, max_length=20_000)
    comment: str | None = Field(default=None, max_length=4_000)
    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))
    query: str = Field(min_length=1, max_length=20_000)
    answer: str = Field(min_length=1, max_length=20_000)
    content_type: str | None = None
    author: str | None = None
    model: str | None = Field(default=None, description="The model that wrote the answer (rejected_model of pairs).")

    @field_validator("request_id")
    @classmethod
    def _request_id(cls, v: str) -> str:
        if not _REQUEST_ID.match(v):
            raise ValueError(f"{v!r} is not a request id (1-128 letters, digits, '.', '_', ':', '-')")
        return v

    @field_validator("edited_answer", "comment", "content_type", "author", "model")
    @classmethod
    def _empty_is_none(cls, v: str | None) -> str | None:
        return v or None

    @field_validator("ts")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)

    @model_validator(mode="after")
    def _has_signal(self) -> Feedback:
        if self.rating is None and self.edited_answer is None and self.comment is None:
            raise ValueError("rating, edited_answer or comment: give at least one")
        return self

    @property
    def edited(self) -> bool:
        """An edit that really changes the answer."""
        return bool(self.edited_answer) and normalized(self.edited_answer or "") != normalized(self.answer)


def store_feedback(warehouse: Warehouse, feedback: Feedback | dict[str, Any]) -> Feedback:
    """Validate and store feedback under its request id; a later one for the same request replaces the earlier."""
    fb = feedback if isinstance(feedback, Feedback) else Feedback.model_validate(feedback)
    warehouse.put(FEEDBACK_COLLECTION, fb.request_id, fb.model_dump(mode="python"))
    log.info(
        "feedback stored",
        extra={"request_id": fb.request_id, "rating": fb.rating, "edited": fb.edited, "comment": bool(fb.comment)},
    )
    return fb


def get_feedback(warehouse: Warehouse, request_id: str) -> Feedback | None:
    """The stored feedback of a request, or None."""
    doc = warehouse.get(FEEDBACK_COLLECTION, request_id)
    return _from_doc(doc) if doc else None


def load_feedback(warehouse: Warehouse) -> list[Feedback]:
    """Every stored feedback, by request id (records that no longer validate are skipped with a warning)."""
    out = []
    for doc in warehouse.find(FEEDBACK_COLLECTION, sort=[("_id", 1)]):
        try:
            out.append(_from_doc(doc))
        except ValueError as exc:
            log.warning("feedback %s skipped: %s", doc.get("_id"), exc)
    return out


def _from_doc(doc: dict[str, Any]) -> Feedback:
    return Feedback.model_validate({k: v for k, v in doc.items() if k in Feedback.model_fields})


def feedback_digest(feedback: Sequence[Feedback]) -> str | None:
    """A hash of what decides the pairs (not timestamps or comments); None without any feedback."""
    signal = sorted((fb.model_dump(mode="json", include=set(_SIGNAL_FIELDS)) for fb in feedback),
                    key=lambda d: d["request_id"])  # fmt: skip
    signal = [d for d in signal if d["rating"] or d["edited_answer"]]
    return content_hash(signal) if signal else None


def feedback_version(version: str, feedback: Sequence[Feedback]) -> str:
    """The preference dataset's version: the documents' version, changed by the feedback (itself when none)."""
    digest = feedback_digest(feedback)
    return version if digest is None else content_hash({"version": version, "feedback": digest})[:12]


def normalize_query(text: str) -> str:
    """Case, spacing and trailing punctuation do not make a different question."""
    return normalized(text).rstrip(" ?!.")


def _sample(chosen: Feedback, rejected_text: str, kind: str, rejected: Feedback | None, model: str) -> PreferenceSample:
    ids = [chosen.request_id, *([rejected.request_id] if rejected else [])]
    return PreferenceSample(
        instruction=chosen.query,
        chosen=(chosen.edited_answer if kind == "edit" else chosen.answer) or chosen.answer,
        rejected=rejected_text.strip(),
        document_id=f"feedback:{chosen.request_id}",
        category=chosen.content_type or "answer",
        source=SOURCE,
        platform="feedback",
        extract_id="+".join(ids),
        generator=f"feedback:{kind}",
        rejected_model=model,
    )


class Pairing(BaseModel):
    """Pairs made from feedback alone, thumbs-ups waiting for a generated rejected answer, and the counts."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pairs: list[PreferenceSample] = Field(default_factory=list)
    lone_ups: list[Feedback] = Field(default_factory=list)
    counts: Counter[str] = Field(default_factory=Counter)


def pair_feedback(feedback: Sequence[Feedback]) -> Pairing:
    """Edits against originals, ups against downs of the same query; lone ups set aside, lone downs counted."""
    out = Pairing()
    by_query: dict[str, dict[str, list[Feedback]]] = defaultdict(lambda: {"up": [], "down": []})
    for fb in sorted(feedback, key=lambda f: (f.ts, f.request_id)):
        if fb.edited:
            out.pairs.append(_sample(fb, fb.answer, "edit", None, fb.model or "twin"))
            out.counts["edited"] += 1
        elif fb.rating:
            by_query[normalize_query(fb.query)][fb.rating].append(fb)
        else:
            out.counts["no_signal"] += 1
    for group in by_query.values():
        ups, downs = group["up"], group["down"]
        if ups and downs:
            for i in range(max(len(ups), len(downs))):
                up, down = ups[i % len(ups)], downs[i % len(downs)]
                out.pairs.append(_sample(up, down.answer, "rating", down, down.model or "twin"))
            out.counts["rated_pairs"] += max(len(ups), len(downs))
        elif ups:
            out.lone_ups.extend(ups)
        else:
            out.counts["unpaired_down"] += len(downs)
    return out


def feedback_pairs(
    warehouse: Warehouse | None = None,
    client: LLMClient | None = None,
    *,
    feedback: Sequence[Feedback] | None = None,
    settings: PreferenceSettings | None = None,
    system_prompt: str | None = None,
    model_name: str = "",
    seed: int = 42,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[PreferenceSample], dict[str, Any]]:
    """Preference samples from the stored feedback (or ``feedback``), deduplicated, and their counts.

    Thumbs-ups without a thumbs-down get the client's answer to the same prompt as their rejected answer
    (checked by the preference filters when ``settings`` is given); without a client they stay unpaired.
    """
    if feedback is None:
        if warehouse is None:
            raise ValueError("feedback_pairs: give a warehouse or the feedback")
        feedback = load_feedback(warehouse)
    pairing = pair_feedback(feedback)
    pairs, counts = list(pairing.pairs), Counter(pairing.counts)
    failures: list[Any] = []
    if pairing.lone_ups and client is not None:
        answers, failures = client.map_text(
            pairing.lone_ups,
            lambda fb: prompt_messages(fb.query, system_prompt),
            item_id=lambda fb: fb.request_id,
            progress=progress,
            seed=int(hashlib.sha256(f"{seed}:feedback".encode()).hexdigest()[:8], 16),
        )
        usable, dropped = apply(
            answers, lambda pair: preference_reason(pair[0].answer, pair[1], settings) if settings else None
        )
        pairs += [_sample(fb, text, "base", None, model_name) for fb, text in usable]
        counts["up_vs_base"] += len(usable)
        counts["unpaired_up"] += len(failures) + sum(dropped.values())
        counts.update({f"base_{k}": v for k, v in dropped.items()})
        counts["base_failures"] += len(failures)
    else:
        counts["unpaired_up"] += len(pairing.lone_ups)
    pairs, same = apply(pairs, lambda p: "same_as_rejected" if normalized(p.chosen) == normalized(p.rejected) else None)
    counts["dropped_same"] += sum(same.values())
    pairs, dupes = exact_dedup(pairs, key=lambda p: f"{normalize_query(p.instruction)}\x1f{p.chosen}\x1f{p.rejected}")
    counts["duplicates"] += dupes
    pairs = sorted(pairs, key=lambda p: p.id)
    stats = {
        "feedback": len(feedback),
        "feedback_pairs": len(pairs),
        "feedback_unpaired": counts["unpaired_up"] + counts["unpaired_down"],
        **{k: v for k, v in sorted(counts.items()) if v},
        "failures": [f.model_dump() if hasattr(f, "model_dump") else str(f) for f in failures],
    }
    log.info("feedback: %d pairs from %d feedback records (%d unpaired)", len(pairs), len(feedback),
             stats["feedback_unpaired"])  # fmt: skip
    return pairs, stats


def add_feedback_pairs(
    built: Built,
    feedback: Sequence[Feedback],
    s: DatasetSettings,
    client: Callable[[], LLMClient],
    model_name: str,
    bar: Bar,
) -> dict[str, Any]:
    """Add the feedback pairs to a built preference set's train split (never test); returns their counts.

    They are deduplicated among themselves and against the author pairs, and decontaminated against the test
    split and the evaluation files (not against each other); the funnel gets a ``feedback`` stage.
    """
    if not feedback:
        return {"feedback": 0, "feedback_pairs": 0, "feedback_unpaired": 0}
    lone = len(pair_feedback(feedback).lone_ups)
    with bar("feedback: rejected answers", lone) as advance:
        pairs, stats = feedback_pairs(
            client=client() if lone else None, feedback=feedback, settings=s.preference, system_prompt=s.system_prompt,
            model_name=model_name, seed=s.seed, progress=advance,
        )  # fmt: skip
    failures = stats.pop("failures")
    if failures:
        built.failures["feedback_rejected"] = [Failure.model_validate(f) for f in failures]
    n = s.decontamination.ngram
    test_index = ngram_index((p.chosen for p in built.test), n)
    eval_index = ngram_index(load_eval_texts(s.decontamination.eval_files), n)
    existing = {normalized(f"{p.instruction}\x1f{p.chosen}\x1f{p.rejected}") for p in built.train}
    kept, dropped = [], Counter[str]()
    for p in pairs:
        grams = ngrams(p.chosen, n)
        if grams & test_index:
            dropped["overlaps_test_split"] += 1
        elif eval_index and (grams | ngrams(p.instruction, n)) & eval_index:
            dropped["overlaps_eval_file"] += 1
        elif normalized(f"{p.instruction}\x1f{p.chosen}\x1f{p.rejected}") in existing:
            dropped["duplicate_of_author_pair"] += 1
        else:
            kept.append(p)
    unpaired = {k: stats[k] for k in ("unpaired_up", "unpaired_down", "duplicates", "dropped_same") if stats.get(k)}
    built.funnel.add("feedback", len(feedback), len(kept), {**unpaired, **dropped})
    built.train = sorted([*built.train, *kept], key=lambda x: x.id)
    stats.update(feedback_pairs=len(kept), **{f"dropped_{k}": v for k, v in dropped.items()})
    return stats
