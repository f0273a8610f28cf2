"""Hooks as Airflow Connections (AIRFLOW_CONN_* variables): settings, get_conn, test_connection."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from plugins.twin_hooks import TritonHook, VectorStoreHook, WarehouseHook


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, value: str | dict) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value if isinstance(value, str) else json.dumps(value))


def test_hooks_declare_their_connection_contract() -> None:
    assert (WarehouseHook.conn_name_attr, WarehouseHook.default_conn_name) == (
        "twin_warehouse_conn_id",
        "twin_warehouse_default",
    )
    assert (VectorStoreHook.default_conn_name, TritonHook.default_conn_name) == (
        "twin_vectors_default",
        "twin_triton_default",
    )
    assert WarehouseHook().twin_warehouse_conn_id == "twin_warehouse_default"


def test_mongo_connection_becomes_a_mongodb_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "wh", "mongodb://twin:p%40ss@mongo.internal:27017/llm?authSource=admin&replicaSet=rs0")
    s = WarehouseHook("wh").settings()
    assert s.engine == "mongodb" and s.database == "llm"
    assert s.uri == "mongodb://twin:p%40ss@mongo.internal:27017/llm?authSource=admin&replicaSet=rs0"


def test_mongo_conn_type_from_the_provider_works_too(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "wh", {"conn_type": "mongo", "host": "db", "port": 27018, "extra": {"database": "twin2"}})
    s = WarehouseHook("wh").settings()
    assert (s.uri, s.database) == ("mongodb://db:27018/", "twin2")


def test_embedded_warehouse_connects_and_tests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _conn(monkeypatch, "twin_warehouse_default", {"conn_type": "embedded", "extra": {"path": str(tmp_path / "wh")}})
    hook = WarehouseHook()
    assert hook.settings().path == tmp_path / "wh"
    ok, message = hook.test_connection()
    assert ok, message
    assert message.startswith("warehouse reachable: ") and "documents=0" in message
    with hook.get_conn() as wh:
        assert wh.count_documents() == 0


def test_unreachable_mongo_fails_the_test_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "wh", "mongodb://127.0.0.1:1/twin?timeout_ms=300")
    ok, message = WarehouseHook("wh").test_connection()
    assert not ok and message


def test_wrong_conn_type_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "wh", {"conn_type": "postgres", "host": "x"})
    with pytest.raises(ValueError, match="conn type 'postgres' is not mongo or embedded"):
        WarehouseHook("wh").settings()


def test_embedded_without_path_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "wh", {"conn_type": "embedded"})
    with pytest.raises(ValueError, match=r"'wh': the embedded warehouse needs extra\.path"):
        WarehouseHook("wh").settings()


def test_weaviate_connection_settings_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWIN_TEST_WEAVIATE_KEY", raising=False)
    extra = {"secure": True, "grpc_port": 50052, "api_key_env": "TWIN_TEST_WEAVIATE_KEY", "collection": "Chunks"}
    _conn(monkeypatch, "vs", {"conn_type": "weaviate", "host": "wv", "port": 443, "password": "k-123", "extra": extra})
    s = VectorStoreHook("vs").settings()
    assert (s.backend, s.url, s.grpc_port, s.collection) == ("weaviate", "https://wv:443", 50052, "Chunks")
    import os

    assert os.environ.pop("TWIN_TEST_WEAVIATE_KEY") == "k-123"


def test_lancedb_store_tests_before_and_after_init(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _conn(monkeypatch, "twin_vectors_default", {"conn_type": "lancedb", "extra": {"path": str(tmp_path / "vec")}})
    hook = VectorStoreHook()
    ok, message = hook.test_connection()
    assert ok and "collection not created yet" in message
    store = hook.get_conn()
    try:
        store.ensure_collection("all-MiniLM-L6-v2", 384)
    finally:
        store.close()
    ok, message = hook.test_connection()
    assert ok and "TwinChunks holds 0 chunks (all-MiniLM-L6-v2)" in message


@pytest.fixture
def triton() -> Iterator[dict[str, int]]:
    state = {"ready": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = state["ready"] if self.path in ("/v2/health/ready", "/v2/models/twin_llm/ready") else 404
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["port"] = server.server_address[1]
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_triton_ready_means_health_ready_200(monkeypatch: pytest.MonkeyPatch, triton: dict[str, int]) -> None:
    _conn(monkeypatch, "twin_triton_default", f"http://127.0.0.1:{triton['port']}")
    hook = TritonHook()
    assert hook.test_connection() == (True, f"http://127.0.0.1:{triton['port']} is ready")
    assert hook.is_model_ready("twin_llm") and not hook.is_model_ready("other")
    triton["ready"] = 503
    ok, message = TritonHook().test_connection()
    assert not ok and message.endswith("/v2/health/ready answered 503")


def test_triton_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "t", "http://127.0.0.1:1")
    ok, message = TritonHook("t", timeout_s=0.5).test_connection()
    assert not ok and "http://127.0.0.1:1 unreachable" in message
