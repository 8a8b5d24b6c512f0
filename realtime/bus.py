"""The process's realtime bus: the broadcast, its fan-out hub, and after-commit publishing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from broadcaster import Broadcast

from realtime import metrics
from realtime.channels import DEFAULT_REDIS_PREFIX
from realtime.hub import Hub
from realtime.log import Log
from realtime.notices import MAX_PENDING, Notices
from realtime.presence import Presence, open_presence
from realtime.redis_backend import RESYNC, RedisBackend

logger = logging.getLogger("funnelgraph.realtime")
FLUSH_SECONDS = 2.0


class Bus:
    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        self.hub = Hub(broadcast, Log())
        self.notices = Notices(broadcast)
        self.presence: Presence | None = None  # open_bus opens it
        # Newest committed seq per channel, not yet published: coalesced, so bounded
        # by the number of channels however long Redis is away.
        self._outgoing: dict[str, int] = {}
        self._outgoing_notices: dict[str, set[str]] = {}
        self._wake = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._publisher = asyncio.create_task(self._publish_forever(), name="bus-publisher")

    async def stop(self) -> None:
        if self._publisher is not None:
            with contextlib.suppress(TimeoutError):  # Redis away: the log has every row
                async with asyncio.timeout(FLUSH_SECONDS):
                    await self._flush()
            self._publisher.cancel()
            await asyncio.gather(self._publisher, return_exceptions=True)

    def publish_soon(self, channel: str, seq: int, row: Any = None) -> None:
        """Tell every process, soon, that row `seq` of `channel` was committed; this
        one's streams get the `row` itself at once, when it is given (Hub.hand_over).

        The request does not wait for Redis: if it is slow or down the signal is
        late or lost, and streams still find the row in the log.
        """
        self._outgoing[channel] = max(seq, self._outgoing.get(channel, seq))
        self._wake.set()
        if row is not None:
            self.hub.hand_over(channel, row)

    def notice_soon(self, channel: str, notice: str) -> None:
        """Tell every process's listeners on `channel`, soon, to look again (see
        realtime/notices.py); like publish_soon, it never waits for Redis."""
        pending = self._outgoing_notices.setdefault(channel, set())
        pending.add(notice)
        if len(pending) > MAX_PENDING:  # Redis away for long: listeners re-read it all
            pending.clear()
            pending.add(RESYNC)
        self._wake.set()

    async def _publish_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, {}
        notices, self._outgoing_notices = self._outgoing_notices, {}
        messages = [(channel, str(seq)) for channel, seq in outgoing.items()]
        messages += [(channel, text) for channel, texts in notices.items() for text in texts]
        for channel, message in messages:
            try:
                await self.broadcast.publish(channel, message)
            except Exception:  # Redis down or the like: the log stays the source of truth
                metrics.counted(metrics.PUBLISH_FAILURES)
                logger.warning("publishing on %s failed; streams will read the log", channel)
            else:
                metrics.counted(metrics.PUBLISHES)


@asynccontextmanager
async def open_bus(redis_url: str | None, prefix: str = DEFAULT_REDIS_PREFIX) -> AsyncIterator[Bus]:
    """Redis pub/sub when configured (its channels and keys after `prefix`), else an
    in-process memory broadcast. The app hands it to each operation in its Context."""
    broadcast = (
        Broadcast(backend=RedisBackend(redis_url, prefix)) if redis_url else Broadcast("memory://")
    )
    await broadcast.connect()
    bus = Bus(broadcast)
    bus.start()
    try:
        async with open_presence(redis_url, bus.notices, bus.notice_soon, prefix) as presence:
            bus.presence = presence
            yield bus
    finally:
        await bus.stop()
        await broadcast.disconnect()
