"""Reachability of the Redis transport, for readiness probes."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError


async def redis_answers(redis_url: str) -> bool:
    """Whether Redis at `redis_url` answers a PING within a second."""
    client = Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(await client.ping())
    except (OSError, RedisError):
        return False
    finally:
        await client.aclose()
