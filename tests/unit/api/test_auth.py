"""API keys: Bearer or X-API-Key, constant-time comparison, 401 with WWW-Authenticate otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from twin_core.api import auth
from twin_core.api.server import resolve_keys


def test_keys_are_parsed_from_a_comma_separated_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    assert auth.parse_keys(" a, b ,,c ") == ["a", "b", "c"]
    assert auth.parse_keys(None) == []
    monkeypatch.setenv("MY_KEYS", "k1,k2")
    assert auth.keys_from_env("MY_KEYS") == ["k1", "k2"]


def test_supplied_key_prefers_bearer_then_x_api_key() -> None:
    assert auth.supplied_key([(b"authorization", b"Bearer abc")]) == "abc"
    assert auth.supplied_key([(b"Authorization", b"bearer  abc ")]) == "abc"
    assert auth.supplied_key([(b"x-api-key", b"xyz")]) == "xyz"
    assert auth.supplied_key([(b"authorization", b"Basic Zm9v")]) is None
    assert auth.supplied_key([]) is None


def test_key_matches_only_exact_keys() -> None:
    assert auth.key_matches("k2", ["k1", "k2"])
    assert not auth.key_matches("k", ["k1", "k2"])
    assert not auth.key_matches("k1 ", ["k1"])
    assert not auth.key_matches("any", [])
    assert auth.check([(b"x-api-key", b"k1")], ["k1"]) is None
    assert "missing" in (auth.check([], ["k1"]) or "")
    assert "invalid" in (auth.check([(b"x-api-key", b"no")], ["k1"]) or "")
    assert "no API key is configured" in (auth.check([(b"x-api-key", b"no")], []) or "")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}])
def test_missing_or_wrong_key_is_401_with_www_authenticate(client: Any, headers: dict[str, str]) -> None:
    client.headers.pop("Authorization")
    r = client.post("/v1/generate", json={"query": "hi"}, headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json()["error"]["type"] == "authentication_error"
    assert r.headers["X-Request-ID"]


def test_either_header_and_any_configured_key_is_accepted(client: Any) -> None:
    client.headers.pop("Authorization")
    assert client.get("/v1/models", headers={"X-API-Key": "second-key"}).status_code == 200
    assert client.get("/v1/models", headers={"Authorization": "Bearer unit-test-key"}).status_code == 200


def test_health_metrics_and_ui_need_no_key(client: Any) -> None:
    client.headers.pop("Authorization")
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/").status_code == 200 and 'id="api-key"' in client.get("/").text


def test_unauthenticated_request_is_refused_before_its_body_is_read(client: Any) -> None:
    client.headers.pop("Authorization")
    r = client.post("/v1/generate", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 401


def test_resolve_keys_generates_one_only_when_unset(make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = make_settings()
    monkeypatch.delenv(cfg.api.auth.keys_env, raising=False)
    keys, generated = resolve_keys(cfg)
    assert generated and len(keys) == 1 and len(keys[0]) > 30
    monkeypatch.setenv(cfg.api.auth.keys_env, "mine")
    assert resolve_keys(cfg) == (["mine"], False)
    assert resolve_keys(cfg, ["given"]) == (["given"], False)
