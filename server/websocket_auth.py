"""Websocket sign-in: the token rides in connection_init; the socket closes when it expires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

from starlette.websockets import WebSocket

from models import User
from resolvers.context import Context
from server.auth import JwtTokens

logger = logging.getLogger("funnelgraph.websocket")

EXPIRED = 4403
EXPIRY_TIMER = "funnelgraph.expiry_timer"


async def viewer_from_init(tokens: JwtTokens, context: Context) -> User | None:
    """The user the connection_init payload's `Authorization: Bearer ...` names."""
    params = context.connection_params or {}
    authorization = params.get("Authorization") or params.get("authorization")
    if not isinstance(authorization, str):
        return None
    return await tokens.viewer(authorization)


def close_at_expiry(tokens: JwtTokens, context: Context) -> None:
    """Close the socket with 4403 the moment its token expires."""
    params = context.connection_params or {}
    token = str(params.get("Authorization") or params.get("authorization") or "")
    claims = tokens.claims(token.partition(" ")[2].strip())
    websocket = context.request
    if claims is None or not isinstance(websocket, WebSocket):
        return
    expires = datetime.fromtimestamp(float(str(claims["exp"])), UTC)
    delay = max(0.0, (expires - datetime.now(UTC)).total_seconds())
    # Kept in the scope so the app can cancel it when the socket ends first. A bare
    # timer per socket, no closure: ten thousand sockets each hold one.
    websocket.scope[EXPIRY_TIMER] = asyncio.get_running_loop().call_later(delay, _expire, websocket)


_closing: set[asyncio.Task[None]] = set()  # the closes under way, kept from collection


def _expire(websocket: WebSocket) -> None:
    task = asyncio.get_running_loop().create_task(_close(websocket))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def cancel_expiry(scope: MutableMapping[str, Any]) -> None:
    timer = scope.pop(EXPIRY_TIMER, None)
    # No isinstance(asyncio.TimerHandle) here: uvloop's handles are not of that class,
    # and a timer left running keeps the whole closed socket alive until the token expires.
    if timer is not None:
        timer.cancel()


async def _close(websocket: WebSocket) -> None:
    with contextlib.suppress(RuntimeError):  # already closed
        await websocket.close(code=EXPIRED, reason="token expired")
