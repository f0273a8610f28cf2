"""API-key authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, compared in constant time.

Keys come from the environment variable named by ``api.auth.keys_env`` (comma-separated), never from conf/.
The check is an ASGI middleware, so an unauthenticated client gets its 401 before any body is read.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from twin_core.api.errors import WWW_AUTHENTICATE, error_bytes

#: Paths that need a key (everything under them); the UI pages, /health, /metrics and the docs do not.
PROTECTED_PREFIXES: tuple[str, ...] = ("/v1/",)


def parse_keys(raw: str | None) -> list[str]:
    """Comma-separated keys, blanks dropped."""
    return [k.strip() for k in (raw or "").split(",") if k.strip()]


def keys_from_env(keys_env: str) -> list[str]:
    """The keys configured in ``$<keys_env>``."""
    return parse_keys(os.environ.get(keys_env))


def generate_key() -> str:
    """A fresh random key (URL-safe, 256 bits)."""
    return "twin-" + secrets.token_urlsafe(32)


def supplied_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries: a Bearer token, else ``X-API-Key``."""
    bearer = api_key = None
    for name, value in headers:
        lname = name.lower()
        if lname == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer = token.strip()
        elif lname == b"x-api-key" and value.strip():
            api_key = value.decode("latin-1").strip()
    return bearer or api_key


def key_matches(supplied: str, keys: Sequence[str]) -> bool:
    """Whether ``supplied`` is one of ``keys``; every key is compared, each in constant time."""
    given = supplied.encode("utf-8", "surrogateescape")
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(given, key.encode("utf-8", "surrogateescape"))
    return ok


def check(headers: Iterable[tuple[bytes, bytes]], keys: Sequence[str]) -> str | None:
    """None when the request is authenticated, else the reason it is not."""
    key = supplied_key(headers)
    if key is None:
        return "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
    if not keys:
        return "no API key is configured on this server (set the keys environment variable)"
    if not key_matches(key, keys):
        return "invalid API key"
    return None


class AuthMiddleware:
    """401 (with ``WWW-Authenticate``) for protected paths without a valid key; other paths pass."""

    def __init__(
        self, app: ASGIApp, keys: Sequence[str], *, enabled: bool = True, prefixes: Sequence[str] = PROTECTED_PREFIXES
    ) -> None:
        self.app = app
        self.keys = list(keys)
        self.enabled = enabled
        self.prefixes = tuple(prefixes)

    def protected(self, path: str) -> bool:
        return self.enabled and path.startswith(self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS" or not self.protected(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        reason = check(scope.get("headers", []), self.keys)
        if reason is None:
            await self.app(scope, receive, send)
            return
        body = error_bytes(401, reason, "authentication_error")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", WWW_AUTHENTICATE.encode()),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})
