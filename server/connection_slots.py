"""At most so many open websockets per user, counted across processes: each socket
holds a lease in the limit store, renewed while it lives and given back when it ends."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import MutableMapping
from typing import Any

from server.limit_store import LimitStore

LEASE_SECONDS = 60.0
SLOT = "funnelgraph.connection_slot"


class TooManyConnections(Exception):
    """The user already holds every slot; the socket closes with 4429."""


async def take_slot(
    store: LimitStore, scope: MutableMapping[str, Any], user_pk: int, cap: int
) -> None:
    key, holder = f"ws:user:{user_pk}", uuid.uuid4().hex
    if not await store.claim(key, holder, cap, LEASE_SECONDS):
        raise TooManyConnections(
            f"at most {cap} open connections per user (MAX_CONNECTIONS_PER_USER)"
        )
    renewal = asyncio.create_task(_renew(store, key, holder, cap))
    scope[SLOT] = (store, key, holder, renewal)


async def give_back_slot(scope: MutableMapping[str, Any]) -> None:
    entry = scope.pop(SLOT, None)
    if entry is None:
        return
    store, key, holder, renewal = entry
    renewal.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await renewal
    await store.release(key, holder)


async def _renew(store: LimitStore, key: str, holder: str, cap: int) -> None:
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        await store.claim(key, holder, cap, LEASE_SECONDS)
