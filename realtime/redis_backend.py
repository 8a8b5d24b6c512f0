"""A broadcaster backend on Redis pub/sub that subscribes correctly and reconnects.

broadcaster 0.3.1's own Redis backend starts listening before any channel is
subscribed (redis-py then never listens), has no reconnect, and its queues are
unbounded. This one listens only while subscribed, reconnects with backoff,
resubscribes every channel, and then emits RESYNC on each so streams refill
from the log whatever pub/sub lost while it was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from broadcaster import BroadcastBackend, Event
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from realtime.channels import DEFAULT_REDIS_PREFIX

logger = logging.getLogger("funnelgraph.realtime")

RESYNC = "resync"
# Low, so that streams catch up within a second of Redis answering again.
MAX_BACKOFF_SECONDS = 0.5
CONFIRM_SECONDS = 2.0


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisBackend(BroadcastBackend):
    """Channels are named in Redis with the deployment's `prefix` first."""

    def __init__(self, url: str, prefix: str = DEFAULT_REDIS_PREFIX) -> None:
        self._url = url
        self._prefix = prefix
        self._channels: set[str] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._wanted = asyncio.Event()
        self._confirmed: dict[str, asyncio.Event] = {}
        # redis-py's PubSub connects lazily on its first command: two commands at
        # once can open two connections and orphan one (with its subscriptions).
        self._commands = asyncio.Lock()
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._publisher = Redis.from_url(self._url, socket_connect_timeout=2, socket_timeout=5)
        self._listener = asyncio.create_task(self._listen(), name="redis-listener")

    async def disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self._close_pubsub()
        await self._publisher.aclose()

    async def subscribe(self, channel: str) -> None:
        """Subscribe, and return once Redis confirms it (or after a short wait).

        SUBSCRIBE is asynchronous in Redis: a message published before it is
        confirmed is not delivered. Streams read the log right after this
        returns, so waiting for the confirmation closes that gap.
        """
        confirmed = self._confirmed.setdefault(channel, asyncio.Event())
        async with self._commands:
            self._channels.add(channel)
            self._wanted.set()
            if self._pubsub is not None:
                try:
                    await self._pubsub.subscribe(self._prefix + channel)
                except (OSError, RedisError):
                    # The listener reconnects, resubscribes and sends RESYNC.
                    logger.warning("subscribing to %s failed; will resubscribe", channel)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(confirmed.wait(), CONFIRM_SECONDS)

    async def unsubscribe(self, channel: str) -> None:
        async with self._commands:
            self._channels.discard(channel)
            self._confirmed.pop(channel, None)
            if self._pubsub is not None:
                with contextlib.suppress(OSError, RedisError):
                    await self._pubsub.unsubscribe(self._prefix + channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._publisher.publish(self._prefix + channel, message)

    async def next_published(self) -> Event:
        return await self._events.get()

    async def _listen(self) -> None:
        backoff = 0.1
        first = True
        while True:
            # redis-py does not listen while no channel is subscribed: wait for one.
            await self._wanted.wait()
            try:
                await self._open_pubsub()
                if not first:
                    logger.info(
                        "redis pub/sub reconnected; resyncing %d channels", len(self._channels)
                    )
                    for channel in list(self._channels):
                        self._events.put_nowait(Event(channel, RESYNC))
                first = False
                backoff = 0.1
                await self._read()
            except asyncio.CancelledError:
                raise
            except (OSError, RedisError) as error:
                first = False
                log = logger.warning if backoff == 0.1 else logger.debug  # once per outage
                log("redis pub/sub lost (%s); retrying every %.1fs", error, MAX_BACKOFF_SECONDS)
                await self._close_pubsub()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _open_pubsub(self) -> None:
        async with self._commands:
            pubsub = self._publisher.pubsub()
            await pubsub.connect()  # type: ignore[no-untyped-call]
            if self._channels:
                await pubsub.subscribe(*(self._prefix + channel for channel in self._channels))
            self._pubsub = pubsub

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            if not self._channels:
                self._wanted.clear()
                await self._close_pubsub()
                return
            message = await self._pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            channel = _text(message["channel"]).removeprefix(self._prefix)
            if message.get("type") == "subscribe" and channel in self._confirmed:
                self._confirmed[channel].set()
            elif message.get("type") == "message":
                self._events.put_nowait(Event(channel, _text(message["data"])))

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(OSError, RedisError):
                await pubsub.aclose()
