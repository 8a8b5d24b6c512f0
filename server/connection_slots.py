"""At most so many open websockets per user, counted across processes: each socket
holds a lease in the limit store, given back when it ends. The process renews all
its leases together, in one round trip, and gives back together those of the sockets
that close while one give-back is on its way, so the store's load and connections do
not grow with the number of sockets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from realtime import metrics
from realtime.limit_store import Lease, LimitStore

logger = logging.getLogger("funnelgraph.websocket")

LEASE_SECONDS = 60.0
SLOT = "funnelgraph.connection_slot"
TOO_MANY_CONNECTIONS = 4429


class TooManyConnections(Exception):
    """The user already holds every slot; the socket closes with 4429."""


@dataclass(frozen=True, slots=True)
class _Held:
    lease: Lease
    websocket: WebSocket


class ConnectionSlots:
    """This process's websocket leases."""

    def __init__(self, store: LimitStore) -> None:
        self._store = store
        self._held: dict[str, _Held] = {}
        self._renewal: asyncio.Task[None] | None = None
        self._returning: list[tuple[Lease, asyncio.Future[None]]] = []
        self._returner: asyncio.Task[None] | None = None

    def stats(self) -> dict[str, int]:
        return {"connection_slots": len(self._held)}

    async def take(self, websocket: WebSocket, user_pk: int, cap: int) -> None:
        lease = Lease(f"ws:user:{user_pk}", uuid.uuid4().hex, cap)
        if not await self._store.claim(lease.key, lease.holder, cap, LEASE_SECONDS):
            metrics.rate_limited("connections_per_user")
            raise TooManyConnections(_too_many(cap))
        self._held[lease.holder] = _Held(lease, websocket)
        websocket.scope[SLOT] = lease.holder
        if self._renewal is None:
            self._renewal = asyncio.create_task(self._renew_forever(), name="slot renewals")

    async def give_back(self, scope: MutableMapping[str, Any]) -> None:
        """Returns once the socket's slot is free again for its user's next socket."""
        held = self._held.pop(scope.pop(SLOT, ""), None)
        if held is None:
            return
        returned = asyncio.get_running_loop().create_future()
        self._returning.append((held.lease, returned))
        if self._returner is None:
            self._returner = asyncio.create_task(self._return_all(), name="slot give-backs")
        await asyncio.shield(returned)

    async def _return_all(self) -> None:
        """One call to the store for all the leases given back since the last call went."""
        batch: list[tuple[Lease, asyncio.Future[None]]] = []
        try:
            while self._returning:
                batch, self._returning = self._returning, []
                try:
                    await self._store.release([lease for lease, _ in batch])
                except Exception:
                    logger.exception("giving back connection slots failed; they lapse instead")
                _answer(batch)
        finally:
            # Cancelled at shutdown: nobody waits on a give-back that will not come.
            _answer(batch + self._returning)
            self._returning = []
            self._returner = None

    async def close(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            await asyncio.gather(self._renewal, return_exceptions=True)
        if self._returner is not None:
            await asyncio.gather(self._returner, return_exceptions=True)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            try:
                await self._renew()
            except Exception:
                logger.exception("renewing connection slots failed; trying again")

    async def _renew(self) -> None:
        """Renew every lease; a socket whose lease lapsed and whose slot went to another
        socket closes rather than stay open uncounted."""
        held = list(self._held.values())
        kept = await self._store.renew([h.lease for h in held], LEASE_SECONDS)
        for socket, still in zip(held, kept, strict=True):
            if not still and socket.lease.holder in self._held:
                with contextlib.suppress(RuntimeError):  # already closed
                    await socket.websocket.close(
                        code=TOO_MANY_CONNECTIONS, reason=_too_many(socket.lease.cap)
                    )


def _answer(given_back: list[tuple[Lease, asyncio.Future[None]]]) -> None:
    for _, returned in given_back:
        if not returned.done():
            returned.set_result(None)


def _too_many(cap: int) -> str:
    return f"at most {cap} open connections per user (MAX_CONNECTIONS_PER_USER)"
