"""server/connection_slots.py and the slot leases of realtime/limit_store.py, on a Redis
of the test's own: renewed together, given back together, and a bounded number of Redis
connections."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import cast

import pytest
from redis.asyncio import Redis
from starlette.websockets import WebSocket

from realtime.limit_store import POOL_SIZE, Lease, LimitStore, open_limit_store
from server.connection_slots import ConnectionSlots, TooManyConnections
from tests.live import redis_server

pytestmark = pytest.mark.postgres_only  # a Redis test; the SQLite run has no Redis


async def test_renewing_keeps_held_leases_and_reports_one_whose_slot_was_taken():
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            # given two leases of a user allowed one slot: the first lapsed, the second took it
            first, second = Lease("ws:user:1", "a", 1), Lease("ws:user:1", "b", 1)
            assert await store.claim(first.key, first.holder, 1, 0.05)
            await asyncio.sleep(0.1)
            assert await store.claim(second.key, second.holder, 1, 60)
            # when the process renews all it holds in one round trip
            kept = await store.renew([first, second, Lease("ws:user:2", "c", 3)], 60)
            # then the lapsed one is refused, the others are kept
            assert kept == [False, True, True]


async def test_renewing_thousands_of_leases_answers_each_in_order():
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            # given 2,500 leases over 25 users (more than one script call's batch), all
            # held, and one more for a user whose one slot another holder took meanwhile
            leases = [Lease(f"ws:user:{n % 25}", f"holder-{n}", 1_000) for n in range(2_500)]
            for lease in leases:
                assert await store.claim(lease.key, lease.holder, lease.cap, 60)
            assert await store.claim("ws:user:full", "other", 1, 60)
            lapsed = Lease("ws:user:full", "mine", 1)
            # when the process renews them all
            kept = await store.renew([*leases[:1_700], lapsed, *leases[1_700:]], 60)
            # then each answer is its own lease's, in order
            assert kept == [True] * 1_700 + [False] + [True] * 800


async def test_a_burst_of_slot_claims_uses_a_bounded_number_of_redis_connections():
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            # when a thousand sockets claim and renew slots at once
            leases = [Lease(f"ws:user:{n % 50}", f"holder-{n}", 100) for n in range(1000)]
            claims = [store.claim(lease.key, lease.holder, lease.cap, 60) for lease in leases]
            taken = await asyncio.gather(*claims, store.renew(leases, 60))
            # then every claim is answered (none refused as if Redis were down)
            assert all(taken[:-1]) and all(taken[-1])
            # and Redis holds every slot, with no more connections open from this process
            # than its pool's (reconnects after a timeout under load replace, not add)
            admin = Redis.from_url(redis.url)
            try:
                held = [await admin.zcard(f"funnelgraph:limit:ws:user:{n}") for n in range(50)]
                connected = int((await admin.info("clients"))["connected_clients"])
            finally:
                await admin.aclose()
            assert sum(held) == 1000
            assert connected <= POOL_SIZE + 1, connected  # + this check's own


class _CountingReleases:
    """The real store, with each call that gives leases back recorded."""

    def __init__(self, store: LimitStore) -> None:
        self._store = store
        self.releases: list[int] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def release(self, leases: Sequence[Lease]) -> None:
        self.releases.append(len(leases))
        await self._store.release(leases)


def _socket() -> WebSocket:
    return cast("WebSocket", SimpleNamespace(scope={}))


async def test_sockets_closing_together_give_their_slots_back_in_a_few_calls():
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            # given a thousand sockets of ten users, each holding a slot
            counting = _CountingReleases(store)
            slots = ConnectionSlots(cast("LimitStore", counting))
            sockets = [_socket() for _ in range(1000)]
            for n, socket in enumerate(sockets):
                await slots.take(socket, n % 10, 100)
            # when they all close at once
            await asyncio.gather(*(slots.give_back(socket.scope) for socket in sockets))
            # then every slot is free, given back in a few calls rather than one per socket
            admin = Redis.from_url(redis.url)
            try:
                held = [await admin.zcard(f"funnelgraph:limit:ws:user:{n}") for n in range(10)]
            finally:
                await admin.aclose()
            assert held == [0] * 10
            assert sum(counting.releases) == 1000 and len(counting.releases) <= 3
            await slots.close()


async def test_a_slot_given_back_is_free_for_the_users_next_socket():
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            # given a user allowed one socket, holding it
            slots = ConnectionSlots(store)
            first = _socket()
            await slots.take(first, 7, 1)
            with pytest.raises(TooManyConnections):
                await slots.take(_socket(), 7, 1)
            # when that socket closes
            await slots.give_back(first.scope)
            # then the user's next socket gets the slot at once
            await slots.take(_socket(), 7, 1)
            await slots.close()
