"""The request id: the client's X-Request-ID when it is a sane token, else one made
here; echoed in the response's X-Request-ID header and in every error's
`extensions.requestId`, and written on every log line made while the request runs
(a websocket's operations carry the id of the request that opened it)."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from itertools import count

from starlette.types import Message, Scope, Send

from server.request_headers import headers_of

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")
# Unique across processes and restarts without a system call per request: a random
# prefix per process, then a counter.
_PREFIX = secrets.token_hex(6)
_numbers = count(1)
_current: ContextVar[str | None] = ContextVar("request id", default=None)


def current_request_id() -> str | None:
    return _current.get()


def begin(scope: Scope) -> str:
    """The request's id, made current for what runs on in this context."""
    given = headers_of(scope).get(HEADER)
    if given is not None and _SANE.fullmatch(given):
        request_id = given.decode()
    else:
        request_id = f"{_PREFIX}-{next(_numbers):x}"
    _current.set(request_id)
    return request_id


def header() -> tuple[bytes, bytes]:
    """The current request's X-Request-ID response header."""
    return HEADER, (_current.get() or "").encode()


def echoing(send: Send, request_id: str) -> Send:
    """`send`, with the id added to the response's headers (for a response built by
    Strawberry or Starlette; the direct path adds `header()` to its own)."""
    header = (HEADER, request_id.encode())

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), header]
        await send(message)

    return send_with_id
