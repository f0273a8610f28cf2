"""Document warehouse: raw and cleaned documents behind the pymongo API, embedded (montydb) or MongoDB."""

from twin_core.warehouse.engines import WarehouseConnectionError, mask_uri
from twin_core.warehouse.queries import EMBEDDED_OPERATORS, UnsupportedQueryError
from twin_core.warehouse.report import UpsertReport
from twin_core.warehouse.repository import KNOWN_COLLECTIONS, Warehouse, connect
from twin_core.warehouse.settings import WarehouseSettings

__all__ = [
    "EMBEDDED_OPERATORS",
    "KNOWN_COLLECTIONS",
    "UnsupportedQueryError",
    "UpsertReport",
    "Warehouse",
    "WarehouseConnectionError",
    "WarehouseSettings",
    "connect",
    "mask_uri",
]
