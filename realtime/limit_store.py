"""Where abuse-limit counts live: Redis, shared by every process, or this process's memory
on the embedded default. Counts are fixed windows; connection slots are leases that
expire unless renewed, so a crashed process cannot hold a user's slots forever."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from realtime.channels import DEFAULT_REDIS_PREFIX
from realtime.redis_pool import bounded_redis

logger = logging.getLogger("funnelgraph.limits")

# With Redis unreachable the limits are not enforced for this long before it is asked again:
# refusing every request would turn an outage of the cache into an outage of the API.
OUTAGE_PAUSE_SECONDS = 5.0
POOL_SIZE = 10  # Redis connections per process for the limits, whatever the load


@dataclass(frozen=True, slots=True)
class Window:
    """A fixed-window count and the seconds until the window ends."""

    count: int
    resets_in: float


class Counters(Protocol):
    async def hit(self, key: str, window_seconds: int) -> Window:
        """Counts one more in `key`'s window, starting a window when none runs."""
        ...

    async def take_back(self, key: str) -> None:
        """Counts one less in the running window, if one runs."""
        ...

    async def clear(self, key: str) -> None: ...

    async def add(self, counts: Mapping[str, int], window_seconds: int) -> dict[str, int]:
        """Adds each count to its key's window (see realtime.operation_budget)."""
        ...


_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    return 1
end
return 0
"""

# _CLAIM for many leases in one call: ARGV = now, until, ttl, then holder and cap per key.
_RENEW = """
local taken = {}
for i, key in ipairs(KEYS) do
    local holder, cap = ARGV[2 + 2 * i], tonumber(ARGV[3 + 2 * i])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
    if redis.call('ZSCORE', key, holder) or redis.call('ZCARD', key) < cap then
        redis.call('ZADD', key, ARGV[2], holder)
        redis.call('PEXPIRE', key, ARGV[3])
        taken[i] = 1
    else
        taken[i] = 0
    end
end
return taken
"""
RENEW_BATCH = 1_000  # leases per script call: Redis stays responsive between calls

# DECR only a running window: on a missing key DECR would make one that never expires.
_TAKE_BACK = """
local count = redis.call('GET', KEYS[1])
if count and tonumber(count) > 0 then
    return redis.call('DECR', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Lease:
    """`holder`'s slot, one of `cap` under `key`."""

    key: str
    holder: str
    cap: int


class LimitStore(Counters, Protocol):
    async def claim(self, key: str, holder: str, cap: int, lease_seconds: float) -> bool:
        """Takes (or renews) one of `cap` slots under `key` for `holder`; False when full."""
        ...

    async def renew(self, leases: Sequence[Lease], lease_seconds: float) -> list[bool]:
        """Renews every lease at once; False for each that lapsed and could not be taken."""
        ...

    async def release(self, leases: Sequence[Lease]) -> None:
        """Gives every lease's slot back at once."""
        ...


class MemoryLimitStore:
    """The embedded default: one process, so its memory is the whole truth."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._slots: dict[str, dict[str, float]] = {}

    async def hit(self, key: str, window_seconds: int) -> Window:
        return self._add(key, 1, window_seconds)

    async def add(self, counts: Mapping[str, int], window_seconds: int) -> dict[str, int]:
        return {key: self._add(key, n, window_seconds).count for key, n in counts.items()}

    def _add(self, key: str, n: int, window_seconds: int) -> Window:
        now = time.monotonic()
        count, ends = self._windows.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_seconds
            if len(self._windows) > 10_000:
                self._forget_ended(now)
        self._windows[key] = (count + n, ends)
        return Window(count + n, ends - now)

    async def take_back(self, key: str) -> None:
        count, ends = self._windows.get(key, (0, 0.0))
        if count > 0 and ends > time.monotonic():
            self._windows[key] = (count - 1, ends)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)

    async def claim(self, key: str, holder: str, cap: int, lease_seconds: float) -> bool:
        now = time.monotonic()
        slots = {h: ends for h, ends in self._slots.get(key, {}).items() if ends > now}
        if holder not in slots and len(slots) >= cap:
            self._slots[key] = slots
            return False
        slots[holder] = now + lease_seconds
        self._slots[key] = slots
        return True

    async def renew(self, leases: Sequence[Lease], lease_seconds: float) -> list[bool]:
        return [await self.claim(s.key, s.holder, s.cap, lease_seconds) for s in leases]

    async def release(self, leases: Sequence[Lease]) -> None:
        for lease in leases:
            slots = self._slots.get(lease.key, {})
            slots.pop(lease.holder, None)
            if not slots:
                self._slots.pop(lease.key, None)

    def _forget_ended(self, now: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if v[1] > now}


class RedisLimitStore:
    """Counts in Redis, so a limit holds however many processes serve the API."""

    def __init__(self, redis: Redis, prefix: str = DEFAULT_REDIS_PREFIX) -> None:
        self._redis = redis
        self._prefix = f"{prefix}limit:"  # before each key
        self._claim = redis.register_script(_CLAIM)
        self._renew = redis.register_script(_RENEW)
        self._take_back = redis.register_script(_TAKE_BACK)
        self._paused_until = 0.0

    async def hit(self, key: str, window_seconds: int) -> Window:
        if self._paused():
            return Window(0, 0.0)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(self._prefix + key)
                pipe.expire(self._prefix + key, window_seconds, nx=True)
                pipe.pttl(self._prefix + key)
                count, _, ttl = await pipe.execute()
        except (RedisError, OSError) as error:
            self._pause(error)
            return Window(0, 0.0)
        return Window(int(count), max(int(ttl), 0) / 1000)

    async def add(self, counts: Mapping[str, int], window_seconds: int) -> dict[str, int]:
        if self._paused() or not counts:
            return {}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, count in counts.items():
                    pipe.incrby(self._prefix + key, count)
                    pipe.expire(self._prefix + key, window_seconds, nx=True)
                answers = await pipe.execute()
        except (RedisError, OSError) as error:
            self._pause(error)
            return {}
        return {key: int(total) for key, total in zip(counts, answers[::2], strict=True)}

    async def take_back(self, key: str) -> None:
        if self._paused():
            return
        try:
            await self._take_back(keys=[self._prefix + key])
        except (RedisError, OSError) as error:
            self._pause(error)

    async def clear(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except (RedisError, OSError) as error:
            self._pause(error)

    async def claim(self, key: str, holder: str, cap: int, lease_seconds: float) -> bool:
        if self._paused():
            return True
        now = time.time()
        try:
            taken = await self._claim(
                keys=[self._prefix + key],
                args=[now, now + lease_seconds, holder, cap, int(lease_seconds * 1000)],
            )
        except (RedisError, OSError) as error:
            self._pause(error)
            return True
        return bool(taken)

    async def renew(self, leases: Sequence[Lease], lease_seconds: float) -> list[bool]:
        if self._paused() or not leases:
            return [True] * len(leases)
        now = time.time()
        until, ttl = now + lease_seconds, int(lease_seconds * 1000)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for start in range(0, len(leases), RENEW_BATCH):
                    batch = leases[start : start + RENEW_BATCH]
                    args: list[str | int | float] = [now, until, ttl]
                    for lease in batch:
                        args += [lease.holder, lease.cap]
                    keys = [self._prefix + lease.key for lease in batch]
                    await self._renew(keys=keys, args=args, client=pipe)
                answers = await pipe.execute()
        except (RedisError, OSError) as error:
            self._pause(error)
            return [True] * len(leases)
        return [bool(one) for batch in answers for one in batch]

    async def release(self, leases: Sequence[Lease]) -> None:
        if not leases:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for lease in leases:
                    pipe.zrem(self._prefix + lease.key, lease.holder)
                await pipe.execute()
        except (RedisError, OSError) as error:
            self._pause(error)

    def _paused(self) -> bool:
        return time.monotonic() < self._paused_until

    def _pause(self, error: BaseException) -> None:
        logger.warning(
            "Redis is unreachable for rate limits (%s): not enforcing them for %.0f s",
            error,
            OUTAGE_PAUSE_SECONDS,
        )
        self._paused_until = time.monotonic() + OUTAGE_PAUSE_SECONDS


@asynccontextmanager
async def open_limit_store(
    redis_url: str | None, prefix: str = DEFAULT_REDIS_PREFIX
) -> AsyncIterator[LimitStore]:
    """Redis when configured (its keys after `prefix`), else memory."""
    if not redis_url:
        yield MemoryLimitStore()
        return
    # Waited on past its size: a refusal would read as an outage and switch limits off.
    async with bounded_redis(
        redis_url, POOL_SIZE, wait=1, connect_timeout=0.5, timeout=0.5
    ) as redis:
        yield RedisLimitStore(redis, prefix)
