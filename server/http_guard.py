"""Refusals before GraphQL sees an HTTP request: bodies over the size limit (413) and
POSTs that are not JSON (415), the shape of a cross-site form or text/plain request."""

from __future__ import annotations

import json
import math

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.request_headers import headers_of

JSON_TYPE = b"application/json"


class HttpGuard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = headers_of(scope)
        media_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if media_type != JSON_TYPE:
            await _refuse(send, 415, "send the operation as JSON: Content-Type: application/json")
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _refuse(send, 413, self._too_large())
            return
        body = await read_body(receive, self.max_body_bytes)
        if body is None:
            await _refuse(send, 413, self._too_large())
            return
        await self.app(scope, replay(body, receive), send)

    def _too_large(self) -> str:
        return f"the request body is over {self.max_body_bytes} bytes (MAX_BODY_BYTES)"


async def read_body(receive: Receive, max_bytes: float = math.inf) -> bytes | None:
    """The whole body, or None as soon as it grows past `max_bytes`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return None
        if not message.get("more_body", False):
            if not chunks:
                return chunk  # most bodies come in one message
            chunks.append(chunk)
            break
        chunks.append(chunk)
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` with `body`, already read, handed out again first."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later messages: the client disconnecting

    return again


async def _refuse(send: Send, status: int, message: str) -> None:
    code = "BAD_USER_INPUT"
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
