"""Airflow hooks for the twin's stores and servers, configured as Airflow Connections.

AIRFLOW_CONN_TWIN_WAREHOUSE_DEFAULT='mongodb://user:pass@mongo:27017/twin?authSource=admin'
AIRFLOW_CONN_TWIN_WAREHOUSE_DEFAULT='{"conn_type": "embedded", "extra": {"path": "/data/twin/warehouse"}}'
AIRFLOW_CONN_TWIN_VECTORS_DEFAULT='{"conn_type": "weaviate", "host": "weaviate", "port": 8080, "password": "key"}'
AIRFLOW_CONN_TWIN_VECTORS_DEFAULT='{"conn_type": "lancedb", "extra": {"path": "/data/twin/vectors"}}'
AIRFLOW_CONN_TWIN_TRITON_DEFAULT='http://triton:8000'
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlencode

from airflow.sdk import BaseHook

MONGO_TYPES = ("mongo", "mongodb", "mongodb+srv")
EMBEDDED_TYPES = ("embedded", "montydb")


def _path(conn: Any, what: str) -> str:
    """An embedded engine's folder: ``extra.path``, else the URI's path (``embedded:///data/warehouse``)."""
    path = conn.extra_dejson.get("path") or (f"/{conn.schema}" if conn.schema else "")
    if not path:
        raise ValueError(f"connection {conn.conn_id!r}: {what} needs extra.path (a folder)")
    return str(path)


class WarehouseHook(BaseHook):
    """The document warehouse: MongoDB (conn type mongo) or the embedded montydb folder (conn type embedded)."""

    conn_name_attr = "twin_warehouse_conn_id"
    default_conn_name = "twin_warehouse_default"
    conn_type = "mongo"
    hook_name = "LLM Twin warehouse"

    def __init__(self, twin_warehouse_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.twin_warehouse_conn_id = twin_warehouse_conn_id

    @cached_property
    def connection(self) -> Any:
        return self.get_connection(self.twin_warehouse_conn_id)

    def settings(self) -> Any:
        """The connection as ``WarehouseSettings`` (what ``twin_core.warehouse.connect`` takes)."""
        from twin_core.warehouse import WarehouseSettings

        conn = self.connection
        database = conn.extra_dejson.get("database")
        if conn.conn_type in EMBEDDED_TYPES:
            return WarehouseSettings(
                engine="embedded", path=_path(conn, "the embedded warehouse"), database=database or "twin"
            )
        if conn.conn_type not in MONGO_TYPES:
            raise ValueError(f"connection {conn.conn_id!r}: conn type {conn.conn_type!r} is not mongo or embedded")
        scheme = "mongodb+srv" if conn.conn_type == "mongodb+srv" or conn.extra_dejson.get("srv") else "mongodb"
        auth = f"{quote(conn.login or '', safe='')}:{quote(conn.password or '', safe='')}@" if conn.login else ""
        port = f":{conn.port}" if conn.port and scheme == "mongodb" else ""
        query = {k: v for k, v in conn.extra_dejson.items() if k not in ("database", "srv", "timeout_ms")}
        uri = f"{scheme}://{auth}{conn.host or 'localhost'}{port}/{conn.schema or ''}"
        uri += f"?{urlencode(query)}" if query else ""
        timeout_ms = int(conn.extra_dejson.get("timeout_ms", 5000))
        return WarehouseSettings(
            engine="mongodb", uri=uri, database=database or conn.schema or "twin", timeout_ms=timeout_ms
        )

    def get_conn(self) -> Any:
        """An open ``twin_core.warehouse.Warehouse`` (close it, or use it as a context manager)."""
        from twin_core.warehouse import connect

        return connect(self.settings())

    def test_connection(self) -> tuple[bool, str]:
        """Open the warehouse and count its collections."""
        try:
            with self.get_conn() as wh:
                counts = wh.counts()
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, "warehouse reachable: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))


class VectorStoreHook(BaseHook):
    """The vector store: Weaviate (conn type weaviate, API key as password) or a LanceDB folder (conn type lancedb)."""

    conn_name_attr = "twin_vectors_conn_id"
    default_conn_name = "twin_vectors_default"
    conn_type = "weaviate"
    hook_name = "LLM Twin vector store"

    def __init__(self, twin_vectors_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.twin_vectors_conn_id = twin_vectors_conn_id

    @cached_property
    def connection(self) -> Any:
        return self.get_connection(self.twin_vectors_conn_id)

    def settings(self) -> Any:
        """The connection as ``VectorStoreSettings``; a Weaviate key goes to ``$<api_key_env>`` of this process."""
        from twin_core.vectorstore import VectorStoreSettings

        conn, extra = self.connection, self.connection.extra_dejson
        collection = extra.get("collection", "TwinChunks")
        if conn.conn_type == "lancedb":
            return VectorStoreSettings(backend="lancedb", path=_path(conn, "LanceDB"), collection=collection)
        if conn.conn_type != "weaviate":
            raise ValueError(f"connection {conn.conn_id!r}: conn type {conn.conn_type!r} is not weaviate or lancedb")
        scheme = "https" if extra.get("secure") else "http"
        key_env = extra.get("api_key_env", "WEAVIATE_API_KEY")
        if conn.password:
            os.environ[key_env] = conn.password
        return VectorStoreSettings(
            backend="weaviate",
            url=f"{scheme}://{conn.host or 'localhost'}:{conn.port or 8080}",
            grpc_port=int(extra.get("grpc_port", 50051)),
            api_key_env=key_env,
            collection=collection,
        )

    def get_conn(self) -> Any:
        """An open ``twin_core.vectorstore.VectorStore`` (call ``close()`` when done)."""
        from twin_core.vectorstore import open_store

        return open_store(self.settings())

    def test_connection(self) -> tuple[bool, str]:
        """Open the store and read its collection's info."""
        try:
            store = self.get_conn()
            try:
                info = store.info()
            finally:
                store.close()
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        if info is None:
            return True, "vector store reachable; collection not created yet (twin step init)"
        return True, f"vector store reachable: {info.name} holds {info.count} chunks ({info.embedding_model})"


class TritonHook(BaseHook):
    """A Triton inference server over HTTP (conn type http); ``test_connection`` asks ``/v2/health/ready``."""

    conn_name_attr = "twin_triton_conn_id"
    default_conn_name = "twin_triton_default"
    conn_type = "http"
    hook_name = "LLM Twin Triton"

    def __init__(self, twin_triton_conn_id: str = default_conn_name, timeout_s: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.twin_triton_conn_id = twin_triton_conn_id
        self.timeout_s = timeout_s

    @cached_property
    def base_url(self) -> str:
        """``http[s]://host:port`` of the server (schema ``https`` or extra ``secure`` for TLS)."""
        conn = self.get_connection(self.twin_triton_conn_id)
        scheme = "https" if conn.schema == "https" or conn.extra_dejson.get("secure") else "http"
        return f"{scheme}://{conn.host or 'localhost'}:{conn.port or 8000}"

    def get_conn(self) -> Any:
        """An ``httpx.Client`` bound to the server (Triton's KServe v2 HTTP API)."""
        import httpx

        return httpx.Client(base_url=self.base_url, timeout=self.timeout_s)

    def is_model_ready(self, model: str) -> bool:
        """Whether ``model`` is loaded and ready (``/v2/models/<model>/ready``)."""
        with self.get_conn() as client:
            return client.get(f"/v2/models/{model}/ready").status_code == 200

    def test_connection(self) -> tuple[bool, str]:
        """Ready means ``GET /v2/health/ready`` answers 200."""
        try:
            with self.get_conn() as client:
                status = client.get("/v2/health/ready").status_code
        except Exception as exc:
            return False, f"{self.base_url} unreachable ({type(exc).__name__}: {exc})"
        if status == 200:
            return True, f"{self.base_url} is ready"
        return False, f"{self.base_url}/v2/health/ready answered {status}"
