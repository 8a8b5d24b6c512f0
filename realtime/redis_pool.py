"""A Redis client on a bounded pool of its own, for one part of the process (rate limits,
presence, persisted queries): that part holds at most `connections` whatever the load,
and a caller past the bound waits for one (`wait` seconds) rather than being refused,
which would read as an outage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import BlockingConnectionPool, Redis


@asynccontextmanager
async def bounded_redis(
    url: str, connections: int, *, wait: float, connect_timeout: float, timeout: float
) -> AsyncIterator[Redis]:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=connections,
        timeout=wait,
        socket_connect_timeout=connect_timeout,
        socket_timeout=timeout,
    )
    redis = Redis(connection_pool=pool)
    try:
        yield redis
    finally:
        await redis.aclose()
        await pool.aclose()  # a pool handed to the client is not the client's to close
