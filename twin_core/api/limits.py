"""Request-size limit as an ASGI middleware: 413 before reading a too-large declared body, or while reading one."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin_core.api.errors import error_bytes


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body grows past the limit (an HTTPException, so FastAPI passes it on as 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")
        self.limit = limit


async def _send_error(send: Send, status: int, message: str) -> None:
    body = error_bytes(status, message)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Answers 413 when ``Content-Length`` exceeds ``max_body_bytes`` (nothing read), or when a chunked body does."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = int(max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if declared:
            try:
                size = int(declared[0])
            except ValueError:
                await _send_error(send, 400, "invalid Content-Length header")
                return
            if size > limit:
                await _send_error(send, 413, f"request body of {size} bytes is larger than the limit of {limit} bytes")
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _send_error(send, 413, f"request body larger than the limit of {limit} bytes")
