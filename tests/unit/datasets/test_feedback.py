"""Human feedback: validation, idempotent storage, pairing rules, and the preference version it changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from twin_core.datasets.builder import Built
from twin_core.datasets.feedback import (
    FEEDBACK_COLLECTION,
    Feedback,
    add_feedback_pairs,
    feedback_pairs,
    feedback_version,
    get_feedback,
    load_feedback,
    pair_feedback,
    store_feedback,
)
from twin_core.datasets.settings import DatasetSettings
from twin_core.domain.samples import PreferenceSample
from twin_core.warehouse import Warehouse, WarehouseSettings, connect

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
ORIGINAL = "Testing data pipelines matters because silent data bugs are the worst kind of bugs to find late."
EDITED = "Test the pipeline's contracts, not its internals: a failing schema check beats a silent wrong number."


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    with connect(WarehouseSettings(path=tmp_path / "wh")) as w:
        yield w


def fb(request_id: str, **kw: Any) -> Feedback:
    base = {"query": "How should I test pipelines?", "answer": ORIGINAL, "ts": T0, "content_type": "answer"}
    return Feedback(request_id=request_id, **{**base, **kw})


def test_validation_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match="rating"):
        Feedback(request_id="r1", rating="meh", query="q", answer="a")
    with pytest.raises(ValidationError, match="request_id"):
        Feedback(request_id="bad id/../", rating="up", query="q", answer="a")
    with pytest.raises(ValidationError, match="query"):
        Feedback(request_id="r1", rating="up", query=" ", answer="a")
    with pytest.raises(ValidationError, match="rating, edited_answer or comment"):
        Feedback(request_id="r1", query="q", answer="a", edited_answer="  ")
    ok = Feedback(request_id="r1", query="q", answer="a", comment="nice", ts=datetime(2026, 1, 1))
    assert ok.ts.tzinfo is UTC and ok.rating is None and not ok.edited


def test_store_is_idempotent_per_request_latest_wins(wh: Warehouse) -> None:
    store_feedback(wh, fb("r1", rating="up"))
    store_feedback(wh, fb("r1", rating="up"))
    assert wh.count(FEEDBACK_COLLECTION) == 1
    stored = store_feedback(wh, {"request_id": "r1", "rating": "down", "query": "q?", "answer": ORIGINAL})
    assert wh.count(FEEDBACK_COLLECTION) == 1 and stored.rating == "down"
    got = get_feedback(wh, "r1")
    assert got is not None and got.rating == "down" and got.query == "q?"
    assert get_feedback(wh, "nope") is None
    with pytest.raises(ValidationError, match="answer"):
        store_feedback(wh, {"request_id": "r2", "rating": "up", "query": "q"})
    assert [f.request_id for f in load_feedback(wh)] == ["r1"]


def test_pairing_rules() -> None:
    items = [
        fb("edit", edited_answer=EDITED, rating="down"),
        fb("up1", rating="up", query="what about ORMs?", answer="ORMs are fine for CRUD, write SQL for reports."),
        fb("down1", rating="down", query="What about ORMs", answer="ORMs are always bad.", ts=T0 + timedelta(1)),
        fb("lone-up", rating="up", query="Why write tests?", answer="Because they let you change code safely."),
        fb("lone-down", rating="down", query="Favourite colour?", answer="Blue."),
        fb("same-edit", edited_answer=ORIGINAL.upper()),  # not a real edit and no rating: no signal
        fb("comment", comment="interesting"),
    ]
    pairing = pair_feedback(items)
    by_kind = {p.generator: p for p in pairing.pairs}
    assert set(by_kind) == {"feedback:edit", "feedback:rating"}
    assert (by_kind["feedback:edit"].chosen, by_kind["feedback:edit"].rejected) == (EDITED, ORIGINAL)
    rated = by_kind["feedback:rating"]
    assert rated.chosen.startswith("ORMs are fine") and rated.rejected == "ORMs are always bad."
    assert rated.extract_id == "up1+down1" and rated.source == "feedback" and rated.document_id == "feedback:up1"
    assert [f.request_id for f in pairing.lone_ups] == ["lone-up"]
    assert pairing.counts == {"edited": 1, "rated_pairs": 1, "unpaired_down": 1, "no_signal": 2}


class FakeBaseModel:
    """The llm client's interface (``map_text``) answering every prompt with a generic text."""

    def __init__(self) -> None:
        self.prompts: list[list[dict[str, str]]] = []

    def map_text(self, items: Any, build: Any, **kw: Any) -> tuple[list[tuple[Any, str]], list[Any]]:
        self.prompts += [build(i) for i in items]
        return [(i, "It depends on many factors and your context.") for i in items], []


def test_lone_up_gets_the_base_models_answer_as_rejected() -> None:
    items = [fb("lone-up", rating="up"), fb("lone-down", rating="down", query="Other?")]
    pairs, stats = feedback_pairs(feedback=items)
    assert pairs == [] and stats["feedback_unpaired"] == 2
    llm = FakeBaseModel()
    pairs, stats = feedback_pairs(feedback=items, client=llm, system_prompt="You are the twin.", model_name="base")
    (pair,) = pairs
    assert pair.chosen == ORIGINAL and pair.rejected.startswith("It depends") and pair.rejected_model == "base"
    assert llm.prompts == [
        [
            {"role": "system", "content": "You are the twin."},
            {"role": "user", "content": "How should I test pipelines?"},
        ]
    ]
    assert stats["feedback_pairs"] == 1 and stats["feedback_unpaired"] == 1 and stats["up_vs_base"] == 1


def test_duplicates_are_removed_and_version_follows_the_feedback() -> None:
    a = fb("a", edited_answer=EDITED)
    b = fb("b", edited_answer=EDITED, query="how should I test pipelines")
    pairs, stats = feedback_pairs(feedback=[a, b])
    assert len(pairs) == 1 and stats["duplicates"] == 1
    assert feedback_version("abc123", []) == "abc123"
    assert feedback_version("abc123", [fb("c", comment="only a comment")]) == "abc123"
    v1 = feedback_version("abc123", [a])
    assert v1 != "abc123" and feedback_version("abc123", [a.model_copy(update={"ts": T0 + timedelta(1)})]) == v1
    assert feedback_version("abc123", [a, b]) != v1


def test_feedback_pairs_go_to_train_only_and_are_decontaminated_against_test() -> None:
    test_pair = PreferenceSample(
        instruction="Write about pipelines.", chosen=EDITED + " And more words here.", rejected="x" * 30,
        document_id="doc-test", category="article",
    )  # fmt: skip
    built = Built(train=[], test=[test_pair])
    other = "Keep fixtures small and real: a tiny site that behaves like the real one catches what mocks hide."
    items = [fb("leak", edited_answer=EDITED), fb("fine", edited_answer=other, query="Fixtures?")]
    s = DatasetSettings()
    stats = add_feedback_pairs(built, items, s, lambda: FakeBaseModel(), "base", _no_bar)  # type: ignore[arg-type]
    assert [p.chosen for p in built.train] == [other] and built.test == [test_pair]
    assert stats["feedback_pairs"] == 1 and stats["dropped_overlaps_test_split"] == 1
    assert built.funnel.as_list()[-1] == {
        "stage": "feedback", "before": 2, "after": 1, "dropped": {"overlaps_test_split": 1},
    }  # fmt: skip


class _no_bar:
    def __init__(self, label: str, total: int) -> None:
        pass

    def __enter__(self) -> Any:
        return lambda n: None

    def __exit__(self, *exc: object) -> None:
        pass
