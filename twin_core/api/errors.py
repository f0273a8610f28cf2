"""Errors of the API, always as JSON ``{"error": {"type", "message", "field"?}}`` with a fitting 4xx/5xx status."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("twin.api")

WWW_AUTHENTICATE = 'Bearer realm="twin-api", charset="UTF-8"'

#: Error type per HTTP status when nothing more specific is known.
TYPES: dict[int, str] = {
    400: "bad_request",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "model_unavailable",
}


class ApiError(Exception):
    """An error the API answers with ``status`` and a clear message (and the offending field when there is one)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or TYPES.get(status, "error")
        self.field = field
        self.headers = dict(headers or {})
        if status == 401:
            self.headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)

    def body(self) -> dict[str, Any]:
        return error_body(self.type, self.message, self.field)


def error_body(type_: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The one error shape of the API."""
    error: dict[str, Any] = {"type": type_, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


def error_bytes(status: int, message: str, type_: str | None = None, field: str | None = None) -> bytes:
    """The JSON body of an error, for raw ASGI middlewares."""
    return json.dumps(error_body(type_ or TYPES.get(status, "error"), message, field)).encode()


def _loc_field(loc: Sequence[Any]) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]  # where it was, not which field
    return ".".join(parts) or None


def _json_position(doc: str | bytes | None, pos: int) -> str:
    """``line L column C (char N)`` of a JSON decode error position."""
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else (doc or "")
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line} column {column} (char {pos})"


def validation_error(exc: RequestValidationError) -> ApiError:
    """A 422 naming the first problem: malformed JSON with its position, else the field and what is wrong."""
    errors = list(exc.errors())
    if not errors:
        return ApiError(422, "invalid request")
    first = errors[0]
    loc = tuple(first.get("loc") or ())
    if first.get("type") == "json_invalid":
        pos = int(loc[1]) if len(loc) > 1 and isinstance(loc[1], int) else 0
        reason = (first.get("ctx") or {}).get("error", "invalid JSON")
        return ApiError(422, f"malformed JSON at {_json_position(exc.body, pos)}: {reason}", type="invalid_json")
    field = _loc_field(loc)
    msg = str(first.get("msg", "invalid value"))
    if first.get("type") == "missing":
        message = f"{field} is required" if field else "the request body is required"
    elif first.get("type") in ("model_attributes_type", "dict_type") and not field:
        message = "the body must be a JSON object (Content-Type: application/json)"
    else:
        message = f"{field}: {msg}" if field else msg
    more = len(errors) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ApiError(422, message, field=field)


def install_handlers(app: FastAPI) -> None:
    """Every error the app raises answers in the one JSON shape."""

    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such route"
        return error_response(ApiError(exc.status_code, detail, headers=exc.headers))

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_error(exc))

    handlers: dict[type[Exception], Callable[[Request, Exception], Awaitable[JSONResponse]]] = {
        ApiError: api_error,
        StarletteHTTPException: http_error,
        RequestValidationError: invalid,
    }
    for cls, handler in handlers.items():
        app.add_exception_handler(cls, handler)
