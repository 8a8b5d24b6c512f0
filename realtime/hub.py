"""Per-process fan-out: one broadcast subscription per channel, a bounded inbox per stream.

A channel's pump reads each signalled batch of rows from the channel's log once
(realtime/log.py) and offers it to every local inbox. An inbox that is full drops what it holds and
is marked behind: its stream then reads the log itself, so a slow reader costs
bounded memory and never slows the others.

A row this process commits itself is handed over (`Hub.hand_over`) and offered at once:
its streams need not wait for its signal to come back from Redis, nor read it from the
log. Only a row that is next in order is offered so; any other waits for its signal,
which reads the log as for any row, and a signal for a row already offered reads nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from broadcaster import Broadcast

from models.database import is_unreachable
from realtime import per_channel
from realtime.channels import ChannelGone
from realtime.redis_backend import RESYNC
from realtime.shared_task import SharedTask

logger = logging.getLogger("funnelgraph.realtime")


class LogReader(Protocol):
    """Where a channel's rows are read (realtime/log.Log; a list in module tests)."""

    batch: int  # rows_after returns fewer rows only when no more are there

    async def rows_after(self, channel: str, seq: int) -> Sequence[Any]:
        """Raises ChannelGone once the channel's owner was deleted."""
        ...

    def seq_of(self, row: Any) -> int: ...


DEFAULT_INBOX_SIZE = 256
# Per row, how many streams that may start an execution get a turn to before the next
# inbox is offered the row (a channel's streams are of a few groups, most often one).
LEADS_AWAITED = 4
# Inboxes offered a row per turn of the event loop: offering one to each of 10,000 in a
# row held every other request up for tens of milliseconds.
OFFER_SLICE = 512
# With no signal for this long, a channel reads its log once, in case a signal was lost.
QUIET_CHECK_SECONDS = 15.0
# Rows handed over and not offered yet, per channel: past this, they wait for the log.
MAX_HANDED = 64


# What a stream needs done before it can pass a row on: the execution its group started
# for it (schema/live_groups.py); None when nothing (or when it may have to start it).
Pending = Callable[[Any], SharedTask[Any] | None]
# Passes a row on for a stream that waits with nothing else to do: True once it is
# sent (or needs no sending); False when the stream must do it itself.
Serve = Callable[[Any], bool]
# What a channel's streams read before they judge a row (who may see it), read once
# for all of them before new rows are offered (resolvers/subscriptions.py).
Prepare = Callable[[], Awaitable[None]]


class Inbox:
    """What one stream has been offered, in order; `behind` once it overflowed.

    Ten thousand streams each hold one while they wait, so it holds no more than it
    must: a list (a deque allocates a 64-slot block up front) and, only while its
    stream waits, one future (an asyncio.Event keeps a deque of waiters for ever).

    A stream that says what a row waits for (`pending`) is woken once that is done, not
    before: woken at once, most subscribers of a live event would only find their
    group's execution under way, wait for it, and be woken a second time to send it.
    When a stream is woken changes nothing of what it yields, only how often it runs.
    And when that row is all it has while it waits, its `serve` (realtime/streams.py)
    may pass the row on then and there, and the stream is not woken at all."""

    __slots__ = ("_rows", "_size", "_waiter", "behind", "orphaned", "pending", "serve")

    def __init__(self, size: int, pending: Pending | None = None) -> None:
        self._rows: list[Any] = []
        self._size = size
        self.behind = False
        self.orphaned = False  # its channel's pump failed: the stream must open another
        self._waiter: asyncio.Future[None] | None = None
        self.pending = pending
        self.serve: Serve | None = None

    def offer(self, row: Any) -> bool:
        """True when the stream was woken with nothing started for it to wait on: it
        may be the one to start its group's execution."""
        if self.behind:
            return False
        if len(self._rows) >= self._size:
            self.behind = True
            self._rows = []
            self._wake()
            return False
        self._rows.append(row)
        pending = self.pending
        if pending is None:
            self._wake()
            return False
        running = pending(row)
        if running is None:
            self._wake()
            return True
        running.then(self._ready)
        return False

    def _ready(self) -> None:
        """What a row waited for is done: served here when it can be, else the stream
        is woken to pass the row on itself."""
        serve, waiter, rows = self.serve, self._waiter, self._rows
        waiting = waiter is not None and not waiter.done()
        alone = len(rows) == 1 and not self.behind
        if serve is not None and waiting and alone and serve(rows[0]):
            self._rows = []
            return
        self._wake()

    def poke(self) -> None:
        """Something may be missing (a reconnect): the stream must read the log."""
        self.behind = True
        self._wake()

    def __len__(self) -> int:
        """Rows offered and not taken yet."""
        return len(self._rows)

    def take_all(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def orphan(self) -> None:
        self.orphaned = True
        self.poke()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float | None = None) -> None:
        """Until something was offered, or the stream must read the log (also after
        `timeout` seconds, when given: its channel checks the log when quiet anyway)."""
        if self._rows or self.behind:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            if timeout is None:
                await self._waiter
                return
            try:
                await asyncio.wait_for(self._waiter, timeout)
            except TimeoutError:
                self.behind = True
        finally:
            self._waiter = None


@dataclass
class _Channel:
    last: int
    ready: asyncio.Future[None]
    inboxes: set[Inbox] = field(default_factory=set)
    streams: int = 0
    closing: bool = False
    task: asyncio.Task[None] | None = None
    prepare: Prepare | None = None
    # One offering at a time, the pump's or a hand-over's, so rows go out in seq order.
    offering: asyncio.Lock = field(default_factory=asyncio.Lock)
    handed: dict[int, Any] = field(default_factory=dict)  # by seq, not offered yet
    handing: asyncio.Task[None] | None = None


class Hub:
    def __init__(self, broadcast: Broadcast, log: LogReader) -> None:
        self._broadcast = broadcast
        self.log = log
        self._channels: dict[str, _Channel] = {}

    @asynccontextmanager
    async def inbox(
        self,
        channel: str,
        start: int,
        size: int = DEFAULT_INBOX_SIZE,
        pending: Pending | None = None,
        prepare: Prepare | None = None,
    ) -> AsyncIterator[Inbox]:
        """An inbox on `channel` for as long as the context is open.

        Returns once the channel's broadcast subscription is in place, so that
        whatever is committed afterwards is signalled. `prepare`: the channel's (the
        first stream's to give one), awaited before each batch of new rows is offered.
        """
        state = self._channels.get(channel)
        if state is None:
            state = _Channel(start, asyncio.get_running_loop().create_future())
            self._channels[channel] = state
            state.task = asyncio.create_task(self._pump(channel, state), name=channel)
        if state.prepare is None:
            state.prepare = prepare
        state.streams += 1
        try:
            await asyncio.shield(state.ready)
            box = Inbox(size, pending)
            state.inboxes.add(box)
            try:
                yield box
            finally:
                state.inboxes.discard(box)
        finally:
            state.streams -= 1
            if state.streams == 0:
                per_channel.close(self._channels, channel, state)

    def stats(self) -> dict[str, int]:
        """Channels this process listens on, and the streams open on them."""
        return {
            "channels": len(self._channels),
            "streams": sum(state.streams for state in self._channels.values()),
        }

    def hand_over(self, channel: str, row: Any) -> None:
        """`row`, just committed by this process, goes to the channel's streams here as
        soon as it is next in order (its signal still goes to every process)."""
        state = self._channels.get(channel)
        if state is None or state.closing or not state.ready.done():
            return  # no stream here; or one about to read the log anyway
        seq = self.log.seq_of(row)
        if seq <= state.last or len(state.handed) >= MAX_HANDED:
            return
        state.handed[seq] = row
        if state.handing is None:
            state.handing = asyncio.create_task(self._offer_handed(channel, state))

    async def _offer_handed(self, channel: str, state: _Channel) -> None:
        try:
            async with state.offering:
                state.handing = None  # rows handed over from now on need a turn of their own
                rows = _next_in_order(state)
                if rows:
                    await _prepared(channel, state.prepare)
                    await self._offer(state, rows)
        except asyncio.CancelledError:
            raise
        except Exception:  # their signals read them from the log
            logger.exception("offering the rows committed here on %s failed", channel)
            state.handed.clear()

    async def _pump(self, channel: str, state: _Channel) -> None:
        try:
            async with self._broadcast.subscribe(channel) as subscriber:
                state.ready.set_result(None)
                while not state.closing:
                    event = await _next_signal(subscriber)
                    if event is not None and event.message == RESYNC:
                        for box in list(state.inboxes):
                            box.poke()
                    try:
                        async with state.offering:
                            if not _offered(state, event):
                                await self._offer_new_rows(channel, state)
                    except Exception as error:  # the log is the truth: let each stream read it
                        if isinstance(error, ChannelGone):
                            pass  # each stream reads it and ends
                        elif is_unreachable(error):
                            logger.warning("reading the log for %s: %s", channel, error)
                        else:
                            logger.exception("reading the log for %s failed", channel)
                        for box in list(state.inboxes):
                            box.poke()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # streams fall back to reading the log
            logger.exception("the %s subscription failed", channel)
            if not state.ready.done():
                state.ready.set_exception(error)
            if self._channels.get(channel) is state:
                del self._channels[channel]
            for box in list(state.inboxes):
                box.orphan()

    async def _offer_new_rows(self, channel: str, state: _Channel) -> None:
        """Read what the log holds past the channel's last row, once for all inboxes: one
        read per signal, a second only when the first was a full batch."""
        while rows := await self.log.rows_after(channel, state.last):
            await _prepared(channel, state.prepare)
            await self._offer(state, rows)
            if len(rows) < self.log.batch:
                return

    async def _offer(self, state: _Channel, rows: Sequence[Any]) -> None:
        """Offer `rows`, the next in seq order, to every inbox of the channel."""
        for row in rows:
            state.last = max(state.last, self.log.seq_of(row))
            leads = LEADS_AWAITED
            for index, box in enumerate(list(state.inboxes), 1):
                if box.offer(row) and leads:
                    # Let it start its group's execution, so the rest of its
                    # group wait for that instead of being woken for nothing.
                    leads -= 1
                    await asyncio.sleep(0)
                elif index % OFFER_SLICE == 0:
                    # An inbox opened meanwhile reads this row from the log.
                    await asyncio.sleep(0)
        for seq in [seq for seq in state.handed if seq <= state.last]:
            del state.handed[seq]


def _next_in_order(state: _Channel) -> list[Any]:
    """The rows handed over that follow the channel's last row with no gap."""
    rows: list[Any] = []
    while (row := state.handed.get(state.last + 1 + len(rows))) is not None:
        rows.append(row)
    return rows


def _offered(state: _Channel, signal: Any) -> bool:
    """Whether the row a signal names was offered already (handed over, or read with
    another): its signal then has nothing to read. A quiet check (None), RESYNC or any
    other message reads the log."""
    message = None if signal is None else signal.message
    return isinstance(message, str) and message.isdigit() and int(message) <= state.last


async def _prepared(channel: str, prepare: Prepare | None) -> None:
    """Streams that meet what `prepare` reads already fresh judge a row with no await
    (and are often not woken at all): after a quiet spell, each would otherwise be
    woken to wait for those reads. When they fail, each stream reads for itself."""
    if prepare is None:
        return
    try:
        await prepare()
    except Exception as error:
        logger.warning("preparing %s's streams for new rows: %s", channel, error)


async def _next_signal(subscriber: Any) -> Any:
    """The channel's next signal; None after a quiet spell (time to read the log anyway)."""
    try:
        return await asyncio.wait_for(subscriber.get(), QUIET_CHECK_SECONDS)
    except TimeoutError:
        return None
