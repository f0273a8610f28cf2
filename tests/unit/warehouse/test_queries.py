"""The operator guard, the document filter, the stored-value codec and the upsert report, without an engine."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from twin_core.warehouse import EMBEDDED_OPERATORS, UnsupportedQueryError, UpsertReport, mask_uri
from twin_core.warehouse.codec import escape_key, from_store, query_values, to_store, unescape_key, utc_ms
from twin_core.warehouse.queries import check_query, document_filter


def guard(query: dict) -> None:
    check_query(query, engine="embedded", allowed=EMBEDDED_OPERATORS)


def test_guard_passes_supported_nested_query() -> None:
    guard(
        {
            "$or": [{"category": {"$in": ["post", "code"]}}, {"platform": "medium", "n": {"$gte": 3, "$lt": 9}}],
            "$nor": [{"x": {"$exists": False}}],
            "tags": {"$all": ["a"], "$size": 1},
            "sub": {"$elemMatch": {"k": {"$gt": 5}}},
            "title": {"$regex": "^P", "$options": "i"},
            "slug": {"$not": re.compile("^draft")},
            "doc": {"literal": 1},
        }
    )


@pytest.mark.parametrize(
    ("query", "operator", "where"),
    [
        ({"$where": "this.n > 1"}, "$where", "query.$where"),
        ({"$text": {"$search": "llm"}}, "$text", "query.$text"),
        ({"$expr": {"$gt": ["$a", 1]}}, "$expr", "query.$expr"),
        ({"$or": [{"a": 1}, {"loc": {"$geoWithin": {}}}]}, "$geoWithin", "query.$or[1].loc.$geoWithin"),
        ({"tags": {"$elemMatch": {"k": {"$bitsAllSet": 1}}}}, "$bitsAllSet", "query.tags.$elemMatch.k.$bitsAllSet"),
        ({"n": {"$not": {"$jsonSchema": {}}}}, "$jsonSchema", "query.n.$not.$jsonSchema"),
        ({"title": re.compile("^P")}, "bare regular expression", "query.title"),
    ],
)
def test_guard_rejects_what_montydb_cannot_do(query: dict, operator: str, where: str) -> None:
    with pytest.raises(UnsupportedQueryError, match=re.escape(operator)) as info:
        guard(query)
    assert info.value.engine == "embedded" and info.value.where == where
    assert "'embedded' warehouse engine" in str(info.value)


def test_guard_lets_everything_through_on_mongodb() -> None:
    check_query({"$text": {"$search": "x"}, "t": re.compile("a")}, engine="mongodb", allowed=None)
    check_query(None, engine="embedded", allowed=EMBEDDED_OPERATORS)


def test_document_filter_builds_in_and_gte() -> None:
    since = datetime(2024, 3, 1, 12, 0)  # naive: taken as UTC
    query = document_filter(
        author_id="a1", category=["post", "code"], platform="x", updated_since=since, ids=("1", "2")
    )
    assert query == {
        "author_id": "a1",
        "category": {"$in": ["post", "code"]},
        "platform": "x",
        "updated_at": {"$gte": datetime(2024, 3, 1, 12, 0, tzinfo=UTC)},
        "_id": {"$in": ["1", "2"]},
    }
    assert document_filter(category="article") == {"category": {"$in": ["article"]}}
    assert document_filter() == {}


def test_document_filter_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match=r"category: \['poem'\] must be among"):
        document_filter(category="poem")
    with pytest.raises(TypeError, match="ids: expected a sequence"):
        document_filter(ids="abc")


@pytest.mark.parametrize("key", ["plain", "src/app.py", ".github/ci.yml", "$x", "100%", "%2E", "a.b$c%d", ""])
def test_escaped_keys_round_trip_and_are_storable(key: str) -> None:
    escaped = escape_key(key)
    assert "." not in escaped and "$" not in escaped
    assert unescape_key(escaped) == key


def test_codec_stores_utc_milliseconds_and_restores_keys() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    value = {"a.b": [{"$c": datetime(2024, 1, 1, 17, 30, 0, 123456, tzinfo=ist)}], "n": 1}
    stored = to_store(value)
    assert stored == {"a%2Eb": [{"%24c": datetime(2024, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)}], "n": 1}
    assert from_store(stored) == {"a.b": [{"$c": datetime(2024, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)}], "n": 1}
    assert utc_ms(datetime(2024, 1, 1, 0, 0, 0, 999999)).microsecond == 999000
    assert query_values({"t": {"$gte": datetime(2024, 1, 1)}}) == {"t": {"$gte": datetime(2024, 1, 1, tzinfo=UTC)}}


def test_upsert_report_counts_and_adds() -> None:
    a = UpsertReport(new=["1", "2"], updated=["3"])
    b = UpsertReport(unchanged=["4"], updated=["5"])
    total = a + b
    assert total.counts() == {"new": 2, "updated": 2, "unchanged": 1}
    assert (total.n_new, total.n_updated, total.n_unchanged, total.total) == (2, 2, 1, 5)
    assert total.changed == ["1", "2", "3", "5"]
    assert str(total) == "2 new, 2 updated, 1 unchanged"
    assert a.counts() == {"new": 2, "updated": 1, "unchanged": 0}  # operands untouched


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("mongodb://alice:s3cr%40t@db:27017/twin", "mongodb://***:***@db:27017/twin"),
        ("mongodb+srv://bob@cluster.example.net/", "mongodb+srv://***@cluster.example.net/"),
        ("mongodb://db1:27017,db2:27017/?replicaSet=rs0", "mongodb://db1:27017,db2:27017/?replicaSet=rs0"),
    ],
)
def test_mask_uri_hides_credentials(uri: str, masked: str) -> None:
    assert mask_uri(uri) == masked
