"""realtime/notices.py: notices to look again, coalesced per listener, over the memory
broadcast and over a Redis of the test's own that restarts."""

from __future__ import annotations

import asyncio

import pytest
from broadcaster import Broadcast

from realtime.bus import Bus
from realtime.notices import MAX_PENDING, Listener
from realtime.redis_backend import RESYNC, RedisBackend
from tests.live import redis_server


def test_a_listener_keeps_each_distinct_notice_once_until_taken():
    listener = Listener()
    for notice in ["c1:5", "r2:1", "c1:5"]:
        listener.offer(notice)
    assert listener.take() == (frozenset({"c1:5", "r2:1"}), False)
    assert listener.take() == (frozenset(), False)


@pytest.mark.parametrize("burst", [[RESYNC], [f"c{n}:1" for n in range(MAX_PENDING + 1)]])
def test_a_resync_or_an_overflow_means_reread_everything(burst):
    listener = Listener()
    for notice in burst:
        listener.offer(notice)
    listener.offer("c7:1")
    assert listener.take() == (frozenset(), True)


async def test_a_notice_reaches_every_listener_of_its_channel_only():
    broadcast = Broadcast("memory://")
    await broadcast.connect()
    bus = Bus(broadcast)
    bus.start()
    try:
        async with (
            bus.notices.listen("chat-notices") as first,
            bus.notices.listen("chat-notices") as second,
            bus.notices.listen("presence:1") as other,
        ):
            bus.notice_soon("chat-notices", "c1:2")
            await asyncio.wait_for(first.wait(), 5)
            await asyncio.wait_for(second.wait(), 5)
            assert first.take() == second.take() == (frozenset({"c1:2"}), False)
            assert other.take() == (frozenset(), False)
    finally:
        await bus.stop()
        await broadcast.disconnect()


@pytest.mark.postgres_only  # a Redis test; the SQLite run has no Redis
async def test_after_redis_restarts_a_listener_is_told_to_reread_everything():
    with redis_server() as redis:
        broadcast = Broadcast(backend=RedisBackend(redis.url))
        await broadcast.connect()
        bus = Bus(broadcast)
        bus.start()
        try:
            async with bus.notices.listen("chat-notices") as listener:
                # given Redis went away while a notice was published (it is lost)
                redis.stop()
                bus.notice_soon("chat-notices", "c1:2")
                await asyncio.sleep(1)
                # when it comes back
                redis.start()
                # then the listener must re-read everything, within a second or two
                await asyncio.wait_for(listener.wait(), 3)
                assert listener.take() == (frozenset(), True)
        finally:
            await bus.stop()
            await broadcast.disconnect()
