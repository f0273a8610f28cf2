"""The two engines behind one pymongo-shaped API: montydb on disk (embedded) and MongoDB by URI."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from montydb.errors import MontyError
from pymongo import MongoClient, ReplaceOne, UpdateMany
from pymongo.errors import PyMongoError

from twin_core.warehouse.queries import EMBEDDED_OPERATORS
from twin_core.warehouse.settings import WarehouseSettings

log = logging.getLogger(__name__)

_STORAGE_MARKER = ".monty.storage"  # montydb writes the storage name of a repository here
_USERINFO = re.compile(r"^(?P<scheme>mongodb(?:\+srv)?://)(?P<userinfo>[^@/]*)@")


class WarehouseConnectionError(RuntimeError):
    """The warehouse could not be opened; the message names where, never the credentials."""


@dataclass(frozen=True)
class EngineTraits:
    """What an engine can do, detected once when it is opened."""

    bulk_write: bool
    indexes: bool
    operators: frozenset[str] | None  # None: every MongoDB operator


@dataclass
class Engine:
    """An open client, its database and its traits."""

    name: str
    client: Any
    db: Any
    traits: EngineTraits
    location: str

    def collection(self, name: str) -> Any:
        return self.db[name]

    def collection_names(self) -> list[str]:
        names = self.db.list_collection_names() if self.name == "mongodb" else self.db.collection_names()
        return sorted(n for n in names if not n.startswith("system."))

    def close(self) -> None:
        self.client.close()


def mask_uri(uri: str) -> str:
    """The URI with user and password replaced by ``***``."""
    return _USERINFO.sub(lambda m: m["scheme"] + ("***:***@" if ":" in m["userinfo"] else "***@"), uri, count=1)


def _scrub(text: str, uri: str) -> str:
    match = _USERINFO.match(uri)
    if match:
        for secret in {match["userinfo"], *match["userinfo"].split(":", 1)}:
            for form in {secret, unquote(secret)}:
                if form:
                    text = text.replace(form, "***")
    return text


def open_engine(settings: WarehouseSettings) -> Engine:
    """Open the engine that ``settings.engine`` names."""
    if settings.engine == "mongodb":
        return _open_mongodb(str(settings.uri), settings.database, settings.timeout_ms)
    return _open_embedded(Path(str(settings.path)), settings.database)


def _open_mongodb(uri: str, database: str, timeout_ms: int) -> Engine:
    where = mask_uri(uri)
    client: MongoClient[dict[str, Any]] | None = None
    try:
        client = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True)
        client.admin.command("ping")
    except PyMongoError as exc:
        if client is not None:
            client.close()
        reason = _scrub(f"{type(exc).__name__}: {exc}", uri)
        raise WarehouseConnectionError(f"cannot reach MongoDB at {where} within {timeout_ms} ms: {reason}") from None
    log.info("warehouse: MongoDB at %s, database %s", where, database)
    traits = EngineTraits(bulk_write=True, indexes=True, operators=None)
    return Engine("mongodb", client, client[database], traits, where)


def _open_embedded(path: Path, database: str) -> Engine:
    import montydb
    from montydb.types import bson as monty_bson

    path.mkdir(parents=True, exist_ok=True)
    if not (path / _STORAGE_MARKER).is_file():
        # The BSON mode is fixed per process by montydb; follow it if another store chose it already.
        use_bson = True if monty_bson.bson_used is None else bool(monty_bson.bson_used)
        montydb.set_storage(str(path), storage="sqlite", use_bson=use_bson)
    try:
        client = montydb.MontyClient(str(path), tz_aware=True)
    except MontyError as exc:
        raise WarehouseConnectionError(f"cannot open the embedded warehouse at {path}: {exc}") from exc
    db = client[database]
    storage = (path / _STORAGE_MARKER).read_text().strip()
    bulk = callable(getattr(type(db["probe"]), "bulk_write", None))
    log.info("warehouse: montydb %s (%s storage) at %s, database %s", montydb.__version__, storage, path, database)
    traits = EngineTraits(bulk_write=bulk, indexes=False, operators=EMBEDDED_OPERATORS)
    return Engine("embedded", client, db, traits, str(path))


def write_batch(
    engine: Engine,
    collection: str,
    *,
    inserts: list[dict[str, Any]],
    replaces: list[dict[str, Any]],
    touch_ids: list[str],
    touch: dict[str, Any],
) -> None:
    """Write new docs, replace changed ones and ``$set`` ``touch`` on unchanged ones: one bulk call, or per op."""
    col = engine.collection(collection)
    if engine.traits.bulk_write:
        ops: list[Any] = [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in [*inserts, *replaces]]
        if touch_ids:
            ops.append(UpdateMany({"_id": {"$in": touch_ids}}, {"$set": touch}))
        if ops:
            col.bulk_write(ops, ordered=False)
        return
    if inserts:
        try:
            col.insert_many(inserts)
        except (PyMongoError, MontyError, sqlite3.Error):
            # Another writer added some of these since we looked: upsert them one by one instead.
            replaces = [*inserts, *replaces]
    for doc in replaces:
        # montydb's replace_one(upsert=True) takes _id from the replacement, not the filter: it is in both.
        col.replace_one({"_id": doc["_id"]}, doc, upsert=True)
    if touch_ids:
        col.update_many({"_id": {"$in": touch_ids}}, {"$set": touch})
