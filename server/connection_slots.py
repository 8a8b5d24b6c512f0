"""At most so many open websockets per user, counted across processes: each socket
holds a lease in the limit store, renewed while it lives and given back when it ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.websockets import WebSocket

from server.limit_store import LimitStore

logger = logging.getLogger("funnelgraph.websocket")

LEASE_SECONDS = 60.0
SLOT = "funnelgraph.connection_slot"
TOO_MANY_CONNECTIONS = 4429


class TooManyConnections(Exception):
    """The user already holds every slot; the socket closes with 4429."""


async def take_slot(store: LimitStore, websocket: WebSocket, user_pk: int, cap: int) -> None:
    key, holder = f"ws:user:{user_pk}", uuid.uuid4().hex
    if not await store.claim(key, holder, cap, LEASE_SECONDS):
        raise TooManyConnections(_too_many(cap))
    renewal = asyncio.create_task(_renew(store, websocket, key, holder, cap))
    websocket.scope[SLOT] = (store, key, holder, renewal)


async def give_back_slot(scope: MutableMapping[str, Any]) -> None:
    entry = scope.pop(SLOT, None)
    if entry is None:
        return
    store, key, holder, renewal = entry
    renewal.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await renewal
    await store.release(key, holder)


async def _renew(store: LimitStore, websocket: WebSocket, key: str, holder: str, cap: int) -> None:
    """Renews the lease; should it have lapsed and its slot gone to another socket, this
    socket closes rather than stay open uncounted."""
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        try:
            kept = await store.claim(key, holder, cap, LEASE_SECONDS)
        except Exception:
            logger.exception("renewing a connection slot failed; trying again")
            continue
        if not kept:
            with contextlib.suppress(RuntimeError):  # already closed
                await websocket.close(code=TOO_MANY_CONNECTIONS, reason=_too_many(cap))
            return


def _too_many(cap: int) -> str:
    return f"at most {cap} open connections per user (MAX_CONNECTIONS_PER_USER)"
