from pathlib import Path

import pytest

from hedgerow import Column, Gate, Schema, TooManyFailures, between, matches, one_of, read_tsv

DATA = Path(__file__).parent / "data"

DELIVERIES = Schema(
    "deliveries",
    [
        Column("delivery_id", str, check=matches(r"d-\d{3}")),
        Column("store", str, check=one_of(["sheffield-central", "hillsborough", "crookes"])),
        Column("slot_hour", int, check=between(0, 23), why="slots are on the hour, 24h clock"),
        Column("notes", str, nullable=True),
    ],
)


def test_read_tsv_keeps_empty_trailing_fields():
    rows = list(read_tsv(DATA / "deliveries.tsv"))
    assert len(rows) == 4
    assert rows[1]["notes"] == ""
    assert all(len(row) == 4 for row in rows)


def test_gate_quarantines_the_bad_slot_with_its_reason():
    rows = list(DELIVERIES.coerce(read_tsv(DATA / "deliveries.tsv")))
    report = Gate(DELIVERIES, max_failure_rate=0.5).run(rows)
    assert len(report.passed) == 3
    ((row, problems),) = report.quarantined
    assert row["delivery_id"] == "d-004"
    assert "why: slots are on the hour" in problems[0]
    assert "3 passed" in report.summary()


def test_gate_stops_when_too_many_rows_fail():
    rows = [{"delivery_id": "nope", "store": "mars", "slot_hour": 99, "notes": ""}] * 3
    with pytest.raises(TooManyFailures, match="Did the upstream format change"):
        Gate(DELIVERIES).run(rows)


def test_duplicate_columns_are_rejected():
    with pytest.raises(ValueError, match="declared twice"):
        Schema("oops", [Column("a"), Column("a")])


def test_between_rejects_inverted_bounds():
    with pytest.raises(ValueError):
        between(5, 1)
