"""server/connection_slots.py and the slot leases of realtime/limit_store.py, on a Redis
of the test's own: renewed together, and a bounded number of Redis connections."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from realtime.limit_store import POOL_SIZE, Lease, open_limit_store
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
