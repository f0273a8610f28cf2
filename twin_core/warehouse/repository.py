"""The warehouse: authors, raw documents and cleaned documents (the feature store), plus small collections."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar, Unpack

from pydantic import BaseModel

from twin_core.domain.documents import Author, CleanedDocument, RawDocument, document_class_for
from twin_core.domain.ids import content_hash, normalize_name
from twin_core.warehouse.codec import from_store, query_values, to_store, utc_ms
from twin_core.warehouse.engines import Engine, open_engine, write_batch
from twin_core.warehouse.queries import DocumentFilters, check_query, document_filter
from twin_core.warehouse.report import UpsertReport
from twin_core.warehouse.settings import WarehouseSettings

log = logging.getLogger(__name__)

AUTHORS, RAW, CLEANED = "authors", "raw_documents", "cleaned_documents"
KNOWN_COLLECTIONS = (AUTHORS, RAW, CLEANED)
_HASH_FIELD = {RAW: "content_hash", CLEANED: "record_hash"}
_INDEXES: dict[str, list[tuple[list[tuple[str, int]], bool]]] = {
    AUTHORS: [([("name_key", 1)], False)],
    RAW: [([("platform", 1), ("link", 1)], True)]
    + [([(f, 1)], False) for f in ("author_id", "category", "updated_at", "fetched_at")],
    CLEANED: [([(f, 1)], False) for f in ("author_id", "category", "platform", "updated_at")],
}
_SORT = [("platform", 1), ("link", 1)]
M = TypeVar("M", bound=BaseModel)


def connect(settings: WarehouseSettings, *, clock: Callable[[], datetime] | None = None) -> Warehouse:
    """Open the warehouse that ``settings`` names (embedded montydb or MongoDB)."""
    return Warehouse(open_engine(settings), clock=clock)


def _model(cls: type[M], doc: dict[str, Any]) -> M:
    data = from_store(doc)
    data["id"] = data.pop("_id")
    return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})


class Warehouse:
    """Idempotent reads and writes over pymongo collections; the same code for both engines."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self.engine: str = engine.name
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"Warehouse(engine={self.engine!r}, at={self._engine.location!r})"

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._engine.close()

    def ensure_indexes(self) -> None:
        """Create the lookup indexes (a speed feature: queries give the same answers without them)."""
        if not self._engine.traits.indexes:
            log.info("warehouse: the %s engine has no secondary indexes; queries scan (same results)", self.engine)
            return
        for name, specs in _INDEXES.items():
            for keys, unique in specs:
                self._col(name).create_index(keys, unique=unique)

    def _col(self, name: str) -> Any:
        return self._engine.collection(name)

    def _now(self) -> datetime:
        return utc_ms(self._clock())

    # authors

    def upsert_author(self, author: Author) -> Author:
        """Store an author by id (idempotent); the normalised name is kept for lookups."""
        doc = to_store({"_id": author.id, **author.model_dump(exclude={"id"})})
        doc["name_key"] = normalize_name(author.full_name)
        self._col(AUTHORS).replace_one({"_id": author.id}, doc, upsert=True)
        return author

    def get_author(self, author_id: str) -> Author | None:
        doc = self._col(AUTHORS).find_one({"_id": author_id})
        return _model(Author, doc) if doc else None

    def find_author_by_name(self, full_name: str) -> Author | None:
        """The author whose normalised name matches; never creates one."""
        docs = list(self._col(AUTHORS).find({"name_key": normalize_name(full_name)}).sort("_id", 1).limit(1))
        return _model(Author, docs[0]) if docs else None

    def list_authors(self) -> list[Author]:
        return [_model(Author, d) for d in self._col(AUTHORS).find({}).sort([("full_name", 1), ("_id", 1)])]

    # raw documents

    def upsert_documents(self, docs: Sequence[RawDocument]) -> UpsertReport:
        """Write documents by id; ``content_hash`` decides new/updated/unchanged (unchanged: only ``last_seen_at``)."""
        return self._upsert(RAW, [(d.id, d.content_hash, d) for d in docs])

    def get_document(self, doc_id: str) -> RawDocument | None:
        doc = self._col(RAW).find_one({"_id": doc_id})
        return _model(document_class_for(doc["category"]), doc) if doc else None

    def find_documents(self, **filters: Unpack[DocumentFilters]) -> list[RawDocument]:
        """Raw documents matching every given filter (all when none), sorted by (platform, link)."""
        cursor = self._col(RAW).find(document_filter(**filters)).sort(_SORT)
        return [_model(document_class_for(d["category"]), d) for d in cursor]

    def delete_documents(self, ids: Sequence[str]) -> int:
        return self._delete(RAW, ids)

    def count_documents(self, **filters: Unpack[DocumentFilters]) -> int:
        return int(self._col(RAW).count_documents(document_filter(**filters)))

    def document_hashes(self, **filters: Unpack[DocumentFilters]) -> dict[str, str]:
        """Id -> content_hash of the matching raw documents (for change data capture)."""
        cursor = self._col(RAW).find(document_filter(**filters), {"content_hash": 1})
        return {d["_id"]: d["content_hash"] for d in cursor}

    # cleaned documents (the feature store)

    def upsert_cleaned(self, docs: Sequence[CleanedDocument]) -> UpsertReport:
        """Write cleaned documents by id; a hash of the whole record decides new/updated/unchanged."""
        return self._upsert(CLEANED, [(d.id, content_hash(d.model_dump(mode="json")), d) for d in docs])

    def find_cleaned(self, **filters: Unpack[DocumentFilters]) -> list[CleanedDocument]:
        """Cleaned documents matching the same filters as :meth:`find_documents`, by (platform, link)."""
        cursor = self._col(CLEANED).find(document_filter(**filters)).sort(_SORT)
        return [_model(CleanedDocument, d) for d in cursor]

    def delete_cleaned(self, ids: Sequence[str]) -> int:
        return self._delete(CLEANED, ids)

    def count_cleaned(self, **filters: Unpack[DocumentFilters]) -> int:
        return int(self._col(CLEANED).count_documents(document_filter(**filters)))

    def _upsert(self, collection: str, items: list[tuple[str, str, BaseModel]]) -> UpsertReport:
        latest = {doc_id: (version, model) for doc_id, version, model in items}  # a repeated id: the last wins
        stored = self._stored_hashes(collection, list(latest))
        now, field = self._now(), _HASH_FIELD[collection]
        report, inserts, replaces = UpsertReport(), [], []
        for doc_id, (version, model) in latest.items():
            if stored.get(doc_id) == version:
                report.unchanged.append(doc_id)
                continue
            doc = to_store({"_id": doc_id, **model.model_dump(mode="python", exclude={"id"})})
            doc.update({field: version, "updated_at": now, "last_seen_at": now})
            (replaces if doc_id in stored else inserts).append(doc)
            (report.updated if doc_id in stored else report.new).append(doc_id)
        write_batch(
            self._engine,
            collection,
            inserts=inserts,
            replaces=replaces,
            touch_ids=report.unchanged,
            touch={"last_seen_at": now},
        )
        log.info("warehouse: %s upsert: %s", collection, report)
        return report

    def _stored_hashes(self, collection: str, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        field, col = _HASH_FIELD[collection], self._col(collection)
        if self._engine.traits.indexes:
            return {d["_id"]: d.get(field) for d in col.find({"_id": {"$in": ids}}, {field: 1})}
        # Without indexes every query scans, and $in costs len(ids) per document: one plain scan is cheaper.
        wanted = set(ids)
        return {d["_id"]: d.get(field) for d in col.find({}, {field: 1}) if d["_id"] in wanted}

    def _delete(self, collection: str, ids: Sequence[str]) -> int:
        if isinstance(ids, str):
            raise TypeError(f"ids: expected a sequence of ids, got the string {ids!r}")
        if not ids:
            return 0
        return int(self._col(collection).delete_many({"_id": {"$in": list(ids)}}).deleted_count)

    # small generic collections (crawl reports, feedback, prompt logs, step state)

    def put(self, collection: str, key: str, doc: dict[str, Any]) -> None:
        """Store ``doc`` under ``_id=key`` (replacing); nested keys are escaped so any string key round-trips."""
        self._generic(collection)
        stored = {**to_store(doc), "_id": key}
        self._col(collection).replace_one({"_id": key}, stored, upsert=True)

    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        """The document under ``key`` (with its ``_id``), or None."""
        doc = self._col(collection).find_one({"_id": key})
        return from_store(doc) if doc else None

    def find(
        self,
        collection: str,
        query: dict[str, Any] | None = None,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 0,
    ) -> list[dict[str, Any]]:
        """Documents matching a MongoDB query; an operator the engine cannot do raises UnsupportedQueryError."""
        cursor = self._col(collection).find(self._query(query))
        if sort:
            cursor = cursor.sort(sort)
        if limit:
            cursor = cursor.limit(limit)
        return [from_store(d) for d in cursor]

    def insert_many(self, collection: str, docs: list[dict[str, Any]]) -> int:
        """Append documents (an ``_id`` is made where missing); returns how many were written."""
        self._generic(collection)
        if not docs:
            return 0
        return len(self._col(collection).insert_many([to_store(d) for d in docs]).inserted_ids)

    def count(self, collection: str, query: dict[str, Any] | None = None) -> int:
        return int(self._col(collection).count_documents(self._query(query)))

    def counts(self) -> dict[str, int]:
        """Documents per collection: the known three first, then any other that exists."""
        others = [n for n in self._engine.collection_names() if n not in KNOWN_COLLECTIONS]
        return {name: int(self._col(name).count_documents({})) for name in [*KNOWN_COLLECTIONS, *others]}

    def _query(self, query: dict[str, Any] | None) -> dict[str, Any]:
        check_query(query, engine=self.engine, allowed=self._engine.traits.operators)
        return query_values(query or {})

    @staticmethod
    def _generic(collection: str) -> None:
        if collection in KNOWN_COLLECTIONS:
            raise ValueError(f"collection {collection!r} holds typed records: use its own methods, not put/insert_many")
