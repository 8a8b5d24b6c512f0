"""Answers while the database is out of reach: HTTP 503 with a coded GraphQL error and
Retry-After, and websocket close 1013 (try again later)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from models.database import is_unreachable
from resolvers.errors import ServiceUnavailable

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


def answers_unavailable(response_data: Any) -> bool:
    """Whether a GraphQL answer carries a SERVICE_UNAVAILABLE error."""
    errors = response_data.get("errors") if isinstance(response_data, Mapping) else None
    return any(
        (error.get("extensions") or {}).get("code") == ServiceUnavailable.code
        for error in errors or ()
    )


def mark_unavailable(response: Response) -> None:
    response.status_code = 503
    response.headers["Retry-After"] = str(ServiceUnavailable.retry_after_seconds)


async def refuse(error: ServiceUnavailable, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a request the database failed before it was answered."""
    if scope["type"] == "http":
        response = JSONResponse({"data": None, "errors": [error.formatted]})
        mark_unavailable(response)
        await response(scope, receive, send)
    else:
        await send({"type": "websocket.close", "code": TRY_AGAIN_LATER, "reason": error.message})
