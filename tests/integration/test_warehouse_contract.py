"""One contract for every warehouse engine: embedded (montydb) always, MongoDB when MONGODB_URI is set."""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from twin_core.domain import Author, CleanedDocument, RawDocument, document_class_for
from twin_core.warehouse import (
    UnsupportedQueryError,
    Warehouse,
    WarehouseConnectionError,
    WarehouseSettings,
    connect,
)

pytestmark = pytest.mark.integration

MONGODB_URI = os.environ.get("MONGODB_URI")
ENGINES = [
    pytest.param("embedded", id="embedded"),
    pytest.param(
        "mongodb",
        id="mongodb",
        marks=[
            pytest.mark.server,
            pytest.mark.skipif(not MONGODB_URI, reason="MONGODB_URI not set: MongoDB contract suite skipped"),
        ],
    ),
]
T1 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
T2 = T1 + timedelta(hours=6)
AUTHORS = [Author(full_name=n) for n in ("Ada Lovelace", "Alan Turing", "Grace Hopper")]
PLATFORMS = ["medium", "substack", "linkedin", "github"]
CONTENT = {
    "article": lambda i: {"subtitle": f"part {i}", "body": f"# Article {i}\n\ntext {i}"},
    "post": lambda i: {"text": f"post number {i}"},
    "code": lambda i: {"src/app.py": f"print({i})", ".github/ci.yml": "on: push"},
}


class Clock:
    """A settable clock, so ``updated_at`` is known to the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_docs(n: int = 40) -> list[RawDocument]:
    """``n`` documents across 3 authors, 3 categories and 4 platforms; datetimes at ms precision, mixed zones."""
    docs = []
    for i in range(n):
        category, author = list(CONTENT)[i % 3], AUTHORS[i % len(AUTHORS) - (i // 7) % 2]
        docs.append(
            document_class_for(category)(
                platform=PLATFORMS[(i * 5 // 3) % 4],
                link=f"https://example.com/{author.full_name.split()[1].lower()}/{i:02d}",
                author_id=author.id,
                author_name=author.full_name,
                title=f"Title {i}",
                content=CONTENT[category](i),
                metadata={"source.url": f"https://example.com/{i}", "rank": i, "$tags": ["a", "b"][: i % 3]},
                published_at=datetime(
                    2023, 1, 1 + i % 28, 9, i % 60, 0, i % 1000 * 1000, tzinfo=timezone(timedelta(hours=i % 5))
                ),
                fetched_at=T1 + timedelta(minutes=i),
            )
        )
    return docs


@pytest.fixture(params=ENGINES)
def open_wh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Warehouse]]:
    """Opens warehouses on one store (same path or database each time); closes them and drops MongoDB data."""
    if request.param == "embedded":
        settings = WarehouseSettings(engine="embedded", path=tmp_path / "warehouse")
    else:
        db = f"twin_test_{uuid.uuid4().hex[:12]}"
        settings = WarehouseSettings(engine="mongodb", uri=MONGODB_URI, database=db, timeout_ms=5000)
    opened: list[Warehouse] = []

    def _open(clock: Callable[[], datetime] | None = None) -> Warehouse:
        opened.append(connect(settings, clock=clock))
        return opened[-1]

    yield _open
    if request.param == "mongodb":
        import pymongo

        with pymongo.MongoClient(MONGODB_URI, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(settings.database)
    for wh in opened:
        wh.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(T1)


@pytest.fixture
def loaded(open_wh: Callable[..., Warehouse], clock: Clock) -> tuple[Warehouse, list[RawDocument]]:
    """40 documents: the first 25 written at T1, the rest at T2."""
    wh, docs = open_wh(clock), make_docs()
    wh.ensure_indexes()
    for author in AUTHORS:
        wh.upsert_author(author)
    assert wh.upsert_documents(docs[:25]).n_new == 25
    clock.now = T2
    assert wh.upsert_documents(docs[25:]).n_new == 15
    return wh, docs


def brute(docs: list[RawDocument], **f: Any) -> list[RawDocument]:
    """The Python reference for ``find_documents``: same filters, same (platform, link) order."""
    cats = [f["category"]] if isinstance(f.get("category"), str) else f.get("category")
    written = {d.id: (T1 if i < 25 else T2) for i, d in enumerate(docs)}
    keep = [
        d
        for d in docs
        if (f.get("author_id") is None or d.author_id == f["author_id"])
        and (cats is None or d.category in cats)
        and (f.get("platform") is None or d.platform == f["platform"])
        and (f.get("updated_since") is None or written[d.id] >= f["updated_since"])
        and (f.get("ids") is None or d.id in f["ids"])
    ]
    return sorted(keep, key=lambda d: (d.platform, d.link))


def test_upserting_twice_changes_nothing(loaded: tuple[Warehouse, list[RawDocument]], clock: Clock) -> None:
    wh, docs = loaded
    clock.now = T2 + timedelta(days=1)
    recrawled = [d.model_copy(update={"fetched_at": clock.now}) for d in docs]
    report = wh.upsert_documents(recrawled)
    assert (report.new, report.updated, sorted(report.unchanged)) == ([], [], sorted(d.id for d in docs))
    assert wh.count_documents() == 40 and wh.counts()["raw_documents"] == 40
    stored = wh.get_document(docs[3].id)
    assert stored == docs[3] and stored.fetched_at == docs[3].fetched_at  # not rewritten
    assert wh.find("raw_documents", {"_id": docs[3].id})[0]["last_seen_at"] == clock.now
    assert len(wh.list_authors()) == 3


def test_changed_hash_is_an_update_of_one_record(loaded: tuple[Warehouse, list[RawDocument]], clock: Clock) -> None:
    wh, docs = loaded
    clock.now = T2 + timedelta(days=1)
    changed = docs[5].model_copy(update={"content": {"text": "edited"}, "content_hash": ""})
    changed = type(changed).model_validate(changed.model_dump())  # re-derive the hash
    report = wh.upsert_documents([changed, docs[6]])
    assert (report.new, report.updated, report.unchanged) == ([], [docs[5].id], [docs[6].id])
    assert wh.count_documents() == 40 and wh.count_documents(ids=[docs[5].id]) == 1
    assert wh.get_document(docs[5].id).content == {"text": "edited"}
    assert wh.document_hashes(ids=[docs[5].id]) == {docs[5].id: changed.content_hash}
    assert [d.id for d in wh.find_documents(updated_since=clock.now)] == [docs[5].id]


def test_author_lookup_never_creates(open_wh: Callable[..., Warehouse]) -> None:
    wh = open_wh()
    assert wh.find_author_by_name("Ada Lovelace") is None and wh.get_author(AUTHORS[0].id) is None
    assert wh.list_authors() == [] and wh.counts()["authors"] == 0
    assert wh.upsert_author(AUTHORS[0]) == AUTHORS[0] and wh.upsert_author(AUTHORS[0]) == AUTHORS[0]
    assert wh.find_author_by_name("  ada   LOVELACE ") == AUTHORS[0] == wh.get_author(AUTHORS[0].id)
    assert wh.find_author_by_name("Ada Byron") is None
    assert wh.list_authors() == [AUTHORS[0]]


FILTERS: list[dict[str, Any]] = [
    {},
    {"author_id": AUTHORS[1].id},
    {"category": "post"},
    {"category": ["article", "code"]},
    {"platform": "medium"},
    {"updated_since": T2},
    {"updated_since": T1},
    {"updated_since": T2 + timedelta(seconds=1)},
    {"ids": [d.id for d in make_docs()[::6]] + ["missing"]},
    {"ids": []},
    {"author_id": AUTHORS[0].id, "category": ["post", "code"], "platform": "substack"},
    {"author_id": AUTHORS[2].id, "updated_since": T2, "ids": [d.id for d in make_docs()[20:]]},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: "+".join(f) or "none")
def test_filters_equal_brute_force(loaded: tuple[Warehouse, list[RawDocument]], filters: dict[str, Any]) -> None:
    wh, docs = loaded
    expected = brute(docs, **filters)
    assert wh.find_documents(**filters) == expected
    assert wh.count_documents(**filters) == len(expected)
    assert wh.document_hashes(**filters) == {d.id: d.content_hash for d in expected}


def test_cleaned_documents_upsert_filter_and_delete(loaded: tuple[Warehouse, list[RawDocument]], clock: Clock) -> None:
    wh, docs = loaded
    cleaned = [
        CleanedDocument(**d.model_dump(include={"id", "category", "platform", "link", "author_id", "author_name"}),
                        content=d.text().lower(), raw_content_hash=d.content_hash, published_at=d.published_at)
        for d in docs
    ]  # fmt: skip
    assert wh.upsert_cleaned(cleaned).n_new == 40 and wh.upsert_cleaned(cleaned).n_unchanged == 40
    recleaned = cleaned[0].model_copy(update={"content": "new cleaning"})
    assert wh.upsert_cleaned([recleaned]).updated == [cleaned[0].id]
    expected = [c for c in cleaned[1:] if c.category in ("article", "post")] + [recleaned] * (
        cleaned[0].category != "code"
    )
    got = wh.find_cleaned(category=["article", "post"])
    assert got == sorted(expected, key=lambda c: (c.platform, c.link))
    assert wh.count_cleaned(category=["article", "post"]) == len(expected)
    assert wh.delete_cleaned([cleaned[1].id, "missing"]) == 1 and wh.count_cleaned() == 39


def test_or_query_and_generic_collections(loaded: tuple[Warehouse, list[RawDocument]]) -> None:
    wh, docs = loaded
    query = {"$or": [{"category": "code", "author_id": AUTHORS[0].id}, {"platform": {"$in": ["linkedin"]}}]}
    got = wh.find("raw_documents", query, sort=[("link", -1)])
    want = [d for d in docs if (d.category == "code" and d.author_id == AUTHORS[0].id) or d.platform == "linkedin"]
    assert [g["_id"] for g in got] == [d.id for d in sorted(want, key=lambda d: d.link, reverse=True)]
    assert wh.count("raw_documents", query) == len(want)

    rows = [
        {"user": f"u{i % 4}", "rating": i % 5, "at": T1 + timedelta(hours=i), "notes": {"a.b": i}} for i in range(20)
    ]
    assert wh.insert_many("feedback", rows) == 20 and wh.insert_many("feedback", []) == 0
    query = {"$or": [{"rating": {"$gte": 4}}, {"user": "u1"}], "at": {"$lt": datetime(2024, 5, 1, 20, 0)}}
    got = wh.find("feedback", query, sort=[("at", 1)], limit=4)
    want = [r for r in rows if (r["rating"] >= 4 or r["user"] == "u1") and r["at"] < T1 + timedelta(hours=12)][:4]
    assert [(g["user"], g["at"], g["notes"]) for g in got] == [(r["user"], r["at"], r["notes"]) for r in want]

    wh.put("step_state", "crawl", {"cursor.page": 3, "$last": T2})
    wh.put("step_state", "crawl", {"cursor.page": 4, "$last": T2})
    assert wh.get("step_state", "crawl") == {"_id": "crawl", "cursor.page": 4, "$last": T2}
    assert wh.get("step_state", "missing") is None
    assert wh.counts() == {"authors": 3, "raw_documents": 40, "cleaned_documents": 0, "feedback": 20, "step_state": 1}
    with pytest.raises(ValueError, match="'raw_documents' holds typed records"):
        wh.put("raw_documents", "x", {})


def test_delete_documents(loaded: tuple[Warehouse, list[RawDocument]]) -> None:
    wh, docs = loaded
    assert wh.delete_documents([docs[0].id, docs[1].id, docs[2].id, "missing"]) == 3
    assert wh.delete_documents([]) == 0
    assert wh.get_document(docs[0].id) is None and wh.count_documents() == 37
    assert wh.upsert_documents([docs[0]]).new == [docs[0].id]


def test_datetimes_round_trip_timezone_aware(open_wh: Callable[..., Warehouse]) -> None:
    wh = open_wh()
    ist = timezone(timedelta(hours=5, minutes=30))
    doc = make_docs(1)[0].model_copy(update={"published_at": datetime(2024, 2, 29, 23, 59, 59, 987654, tzinfo=ist)})
    wh.upsert_documents([doc])
    back = wh.get_document(doc.id)
    assert back.published_at == datetime(2024, 2, 29, 18, 29, 59, 987000, tzinfo=UTC)  # same instant, BSON ms
    assert back.published_at.tzinfo is UTC and back.fetched_at.tzinfo is UTC
    assert wh.find_documents(updated_since=datetime(2000, 1, 1)) == [back]  # a naive bound is taken as UTC
    wh.put("runs", "r1", {"at": datetime(2024, 1, 1, 12, 0)})
    assert wh.get("runs", "r1")["at"] == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def test_reopened_store_keeps_its_data(open_wh: Callable[..., Warehouse]) -> None:
    wh = open_wh()
    docs = make_docs(6)
    wh.upsert_author(AUTHORS[1])
    wh.upsert_documents(docs)
    wh.close()
    again = open_wh()
    assert again.find_documents() == sorted(docs, key=lambda d: (d.platform, d.link))
    assert again.find_author_by_name("alan turing") == AUTHORS[1]
    assert again.upsert_documents(docs).n_unchanged == 6


def test_unsupported_operator_fails_loudly_on_embedded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with connect(WarehouseSettings(engine="embedded", path=tmp_path / "wh")) as wh:
        with caplog.at_level(logging.INFO, logger="twin_core.warehouse"):
            wh.ensure_indexes()
        assert "no secondary indexes" in caplog.text
        wh.put("notes", "1", {"text": "Python rocks"})
        for query, op in [({"$where": "1"}, "$where"), ({"$text": {"$search": "x"}}, "$text"),
                          ({"text": re.compile("Python")}, "bare regular expression")]:  # fmt: skip
            with pytest.raises(UnsupportedQueryError, match=re.escape(op) + ".*'embedded'"):
                wh.find("notes", query)
            with pytest.raises(UnsupportedQueryError):
                wh.count("notes", query)
        assert [n["_id"] for n in wh.find("notes", {"text": {"$regex": "^python", "$options": "i"}})] == ["1"]


def test_unreachable_mongodb_names_the_uri_without_credentials() -> None:
    uri = "mongodb://alice:s3cret@127.0.0.1:9/?directConnection=true"
    with pytest.raises(WarehouseConnectionError, match=re.escape("mongodb://***:***@127.0.0.1:9/")) as info:
        connect(WarehouseSettings(engine="mongodb", uri=uri, timeout_ms=300))
    assert "s3cret" not in str(info.value) and "alice" not in str(info.value)
