"""The process's realtime bus: the broadcast, its fan-out hub, and after-commit publishing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from broadcaster import Broadcast

from realtime.hub import Hub
from realtime.redis_backend import RedisBackend

logger = logging.getLogger("funnelgraph.realtime")


class Bus:
    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        self.hub = Hub(broadcast)

    async def publish(self, channel: str, seq: int) -> None:
        """Tell every process a row was committed. A failure is logged, never raised:
        the write is committed and the log has it; streams find it on their next check."""
        try:
            await self.broadcast.publish(channel, str(seq))
        except Exception:  # Redis down or the like: the log stays the source of truth
            logger.warning("publishing on %s failed; streams will read the log", channel)


_current: Bus | None = None


def current_bus() -> Bus | None:
    """The bus the lifespan opened in this process, if any."""
    return _current


@asynccontextmanager
async def open_bus(redis_url: str | None) -> AsyncIterator[Bus]:
    """Redis pub/sub when configured, else an in-process memory broadcast."""
    global _current
    broadcast = Broadcast(backend=RedisBackend(redis_url)) if redis_url else Broadcast("memory://")
    await broadcast.connect()
    bus = Bus(broadcast)
    _current = bus
    try:
        yield bus
    finally:
        _current = None
        await broadcast.disconnect()
