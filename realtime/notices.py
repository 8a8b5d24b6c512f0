"""Notices: small messages that say "look again", for state that has no log to follow.

Unread counts and presence are state, not a sequence of events: a stream that hears a
notice re-reads the state, so a lost notice only delays an update, and a Redis
reconnect (RESYNC) makes every listener re-read everything. Per process, each notice
channel has one broadcast subscription, shared by its local listeners; a listener keeps
the distinct notices it has not taken yet, so a burst costs it one re-read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from broadcaster import Broadcast

from realtime import per_channel
from realtime.redis_backend import RESYNC

logger = logging.getLogger("funnelgraph.realtime")

# Past this many distinct notices untaken, a listener re-reads everything instead.
MAX_PENDING = 256
RETRY_SECONDS = 1.0


class Listener:
    """What one stream has heard on a notice channel and not taken yet."""

    __slots__ = ("_notices", "_wake", "everything")

    def __init__(self) -> None:
        self._notices: set[str] = set()
        self._wake = asyncio.Event()
        self.everything = False  # something may have been missed: re-read it all

    def offer(self, notice: str) -> None:
        if notice == RESYNC or len(self._notices) >= MAX_PENDING:
            self.everything = True
            self._notices.clear()
        elif not self.everything:
            self._notices.add(notice)
        self._wake.set()

    def take(self) -> tuple[frozenset[str], bool]:
        """The notices heard since the last take, and whether to re-read everything."""
        notices, everything = frozenset(self._notices), self.everything
        self._notices.clear()
        self.everything = False
        self._wake.clear()
        return notices, everything

    async def wait(self, timeout: float | None = None) -> None:
        """Until something was heard, or `timeout` seconds passed."""
        if self._notices or self.everything:
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)


@dataclass
class _Channel:
    ready: asyncio.Future[None]
    listeners: set[Listener] = field(default_factory=set)
    closing: bool = False
    task: asyncio.Task[None] | None = None


class Notices:
    """The process's notice channels."""

    def __init__(self, broadcast: Broadcast) -> None:
        self._broadcast = broadcast
        self._channels: dict[str, _Channel] = {}

    @asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Listener]:
        """A listener on `channel` while the context is open; it hears every notice
        published after this returns."""
        state = self._channels.get(channel)
        if state is None:
            state = _Channel(asyncio.get_running_loop().create_future())
            self._channels[channel] = state
            state.task = asyncio.create_task(self._pump(channel, state), name=channel)
        listener = Listener()
        state.listeners.add(listener)
        try:
            await asyncio.shield(state.ready)
            yield listener
        finally:
            state.listeners.discard(listener)
            if not state.listeners:
                per_channel.close(self._channels, channel, state)

    async def _pump(self, channel: str, state: _Channel) -> None:
        """Hands each notice to every listener; resubscribes after a failure (its
        listeners then re-read everything)."""
        while not state.closing:
            try:
                async with self._broadcast.subscribe(channel) as subscriber:
                    if not state.ready.done():
                        state.ready.set_result(None)
                    while not state.closing:
                        event = await subscriber.get()
                        for listener in list(state.listeners):
                            listener.offer(str(event.message))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("the %s notice subscription failed; resubscribing", channel)
                if not state.ready.done():
                    state.ready.set_result(None)
                for listener in list(state.listeners):
                    listener.offer(RESYNC)
                await asyncio.sleep(RETRY_SECONDS)
