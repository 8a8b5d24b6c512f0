"""Answers while the database is out of reach: HTTP 503 with a coded GraphQL error and
Retry-After, and websocket close 1013 (try again later)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import orjson
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from models.database import is_unreachable
from resolvers.errors import ServiceUnavailable
from server.graphql_response import as_response, asks_for_graphql_response, http_answer

T = TypeVar("T")
TRY_AGAIN_LATER = 1013


async def or_unavailable(work: Awaitable[T]) -> T:
    """`work`'s result; ServiceUnavailable if the database is out of reach."""
    try:
        return await work
    except Exception as error:
        if is_unreachable(error):
            raise ServiceUnavailable() from error
        raise


async def refuse(error: ServiceUnavailable, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a request the database failed before it was answered."""
    if scope["type"] == "http":
        accept = Headers(scope=scope).get("accept")
        answer = http_answer(
            {"data": None, "errors": [error.formatted]}, asks_for_graphql_response(accept)
        )
        await as_response(answer, orjson.dumps(answer.body))(scope, receive, send)
    else:
        await send({"type": "websocket.close", "code": TRY_AGAIN_LATER, "reason": error.message})
