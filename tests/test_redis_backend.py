"""realtime/redis_backend.py against a Redis of the test's own, stopped and restarted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from broadcaster import Broadcast

from realtime.redis_backend import RESYNC, RedisBackend
from tests.live import redis_server

pytestmark = pytest.mark.postgres_only  # a Redis test; the SQLite run has no Redis


async def next_message(subscriber, timeout: float = 5.0) -> str:
    event = await asyncio.wait_for(subscriber.get(), timeout)
    return str(event.message)


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[Broadcast]:
    broadcast = Broadcast(backend=RedisBackend(url))
    await broadcast.connect()
    try:
        yield broadcast
    finally:
        await broadcast.disconnect()


async def test_a_message_published_once_subscribed_is_delivered():
    with redis_server() as redis:
        # given a subscriber whose subscription Redis confirmed
        async with (
            connected(redis.url) as broadcast,
            broadcast.subscribe("campaign:1") as subscriber,
        ):
            # when a message is published right away
            await broadcast.publish("campaign:1", "7")
            # then it arrives
            assert await next_message(subscriber) == "7"


async def test_after_redis_restarts_each_channel_gets_resync_then_new_messages():
    with redis_server() as redis:
        async with (
            connected(redis.url) as broadcast,
            broadcast.subscribe("campaign:1") as subscriber,
        ):
            # given Redis went away (messages published meanwhile are lost)
            redis.stop()
            await asyncio.sleep(1)
            # when it comes back
            redis.start()
            # then the channel is told to read its log, within a second
            assert await next_message(subscriber, timeout=1.5) == RESYNC
            # and what is published from then on arrives again
            await broadcast.publish("campaign:1", "8")
            assert await next_message(subscriber) == "8"
