"""Who is on each campaign now, across every server process; never in the event log.

Each process holds an entry per (campaign, user) it has a presence subscriber for, and
renews them all in one batch every RENEW_SECONDS; an entry not renewed lapses after
ENTRY_SECONDS, so a process that dies takes its viewers away within ENTRY_SECONDS plus
one re-read. Typing is an entry of its own that lapses TYPING_SECONDS after the last
true. Every change is a notice on the campaign's presence channel; each process then
re-reads the campaign's entries once for all its subscribers, at most every
COALESCE_SECONDS, and also every REREAD_SECONDS (lapses have no notice).

The entries live in Redis when it is configured, else in this process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from realtime.channels import DEFAULT_REDIS_PREFIX, presence_channel
from realtime.notices import Listener, Notices
from realtime.redis_pool import bounded_redis

logger = logging.getLogger("funnelgraph.presence")
K = TypeVar("K")

ENTRY_SECONDS = 20.0
RENEW_SECONDS = 5.0
REREAD_SECONDS = 5.0
TYPING_SECONDS = 5.0
COALESCE_SECONDS = 0.25
POOL_SIZE = 4  # Redis connections per process for presence, whatever the load
# A notice that the campaign's access rules changed as of event seq N: "a<N>".
ACCESS_NOTICE = "a"


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Snapshot:
    """A campaign's presence as read at one moment."""

    campaign_pk: int
    viewing: frozenset[int] = frozenset()
    typing: frozenset[int] = frozenset()
    typing_lapses_at: float | None = None  # when the first typing entry lapses
    access_seq: int = 0  # access must be judged as of this event seq at least

    def same_as(self, other: Snapshot | None) -> bool:
        """Whether it shows what `other` showed, under the same access rules."""
        return other is not None and (self.viewing, self.typing, self.access_seq) == (
            other.viewing,
            other.typing,
            other.access_seq,
        )


class PresenceStore(Protocol):
    async def hold(self, process: str, entries: Collection[tuple[int, int]]) -> None:
        """Renews this process's (campaign, user) entries for another ENTRY_SECONDS."""
        ...

    async def drop(self, process: str, entries: Collection[tuple[int, int]]) -> None:
        """Removes this process's entries at once."""
        ...

    async def set_typing(self, campaign_pk: int, user_pk: int, typing: bool) -> None: ...

    async def read(self, campaign_pk: int) -> Snapshot | None:
        """The live entries; None when they cannot be read now."""
        ...


class RedisPresence:
    """Two sorted sets per campaign, scored by when each entry lapses: viewers as
    "<process>:<user>", typists as "<user>"."""

    def __init__(self, redis: Redis, prefix: str = DEFAULT_REDIS_PREFIX) -> None:
        self._redis = redis
        self._prefix = f"{prefix}presence:"
        self._warned = False

    def _viewing(self, campaign_pk: int) -> str:
        return f"{self._prefix}{campaign_pk}:viewing"

    def _typing(self, campaign_pk: int) -> str:
        return f"{self._prefix}{campaign_pk}:typing"

    async def hold(self, process: str, entries: Collection[tuple[int, int]]) -> None:
        if not entries:
            return
        until = time.time() + ENTRY_SECONDS
        pipe = self._redis.pipeline(transaction=False)
        for campaign_pk, user_pk in entries:
            key = self._viewing(campaign_pk)
            pipe.zadd(key, {f"{process}:{user_pk}": until})
            pipe.expire(key, int(ENTRY_SECONDS * 2))
        await self._guarded(pipe.execute())

    async def drop(self, process: str, entries: Collection[tuple[int, int]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for campaign_pk, user_pk in entries:
            pipe.zrem(self._viewing(campaign_pk), f"{process}:{user_pk}")
        await self._guarded(pipe.execute())

    async def set_typing(self, campaign_pk: int, user_pk: int, typing: bool) -> None:
        key = self._typing(campaign_pk)
        if not typing:
            await self._guarded(self._redis.zrem(key, str(user_pk)))
            return
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(key, {str(user_pk): time.time() + TYPING_SECONDS})
        pipe.expire(key, int(TYPING_SECONDS * 2))
        await self._guarded(pipe.execute())

    async def read(self, campaign_pk: int) -> Snapshot | None:
        now = time.time()
        pipe = self._redis.pipeline(transaction=False)
        pipe.zremrangebyscore(self._viewing(campaign_pk), "-inf", now)
        pipe.zrange(self._viewing(campaign_pk), 0, -1)
        pipe.zremrangebyscore(self._typing(campaign_pk), "-inf", now)
        pipe.zrange(self._typing(campaign_pk), 0, -1, withscores=True)
        found = await self._guarded(pipe.execute())
        if found is None:
            return None
        _, viewers, _, typists = found
        typing = {int(member): float(score) for member, score in typists}
        return Snapshot(
            campaign_pk,
            viewing=frozenset(int(member.rsplit(b":", 1)[1]) for member in viewers),
            typing=frozenset(typing),
            typing_lapses_at=min(typing.values(), default=None),
        )

    async def _guarded(self, command: Any) -> Any:
        """The command's answer; None, logged once per outage, while Redis is away:
        presence is best effort, and a re-read after Redis returns puts it right."""
        try:
            answer = await command
        except (OSError, RedisError) as error:
            if not self._warned:
                logger.warning("presence: redis unreachable (%s)", error)
                self._warned = True
            return None
        self._warned = False
        return answer


class MemoryPresence:
    """The embedded default's store: one process, so its entries never lapse unseen."""

    def __init__(self) -> None:
        self._viewing: dict[int, dict[str, float]] = {}
        self._typing: dict[int, dict[int, float]] = {}

    async def hold(self, process: str, entries: Collection[tuple[int, int]]) -> None:
        until = time.time() + ENTRY_SECONDS
        for campaign_pk, user_pk in entries:
            self._viewing.setdefault(campaign_pk, {})[f"{process}:{user_pk}"] = until

    async def drop(self, process: str, entries: Collection[tuple[int, int]]) -> None:
        for campaign_pk, user_pk in entries:
            self._viewing.get(campaign_pk, {}).pop(f"{process}:{user_pk}", None)

    async def set_typing(self, campaign_pk: int, user_pk: int, typing: bool) -> None:
        typists = self._typing.setdefault(campaign_pk, {})
        if typing:
            typists[user_pk] = time.time() + TYPING_SECONDS
        else:
            typists.pop(user_pk, None)

    async def read(self, campaign_pk: int) -> Snapshot | None:
        now = time.time()
        viewers = _unlapsed(self._viewing, campaign_pk, now)
        typing = _unlapsed(self._typing, campaign_pk, now)
        return Snapshot(
            campaign_pk,
            viewing=frozenset(int(member.rsplit(":", 1)[1]) for member in viewers),
            typing=frozenset(typing),
            typing_lapses_at=min(typing.values(), default=None),
        )


def _unlapsed(entries: dict[int, dict[K, float]], campaign_pk: int, now: float) -> dict[K, float]:
    kept = {key: until for key, until in entries.get(campaign_pk, {}).items() if until > now}
    if kept:
        entries[campaign_pk] = kept
    else:
        entries.pop(campaign_pk, None)
    return kept


class Watcher:
    """One subscriber's view of its campaign's room: each snapshot the room reads, from
    the first read that started after it joined."""

    __slots__ = ("_first_read", "_latest", "_taken", "_wake")

    def __init__(self, first_read: int) -> None:
        self._first_read = first_read
        self._latest: Snapshot | None = None
        self._taken: Snapshot | None = None
        self._wake = asyncio.Event()

    def offer(self, read: int, snapshot: Snapshot, changed: bool) -> None:
        """A read's snapshot: taken when it changed something, or when this watcher has
        none yet (and the read started after it joined)."""
        if read >= self._first_read and (changed or self._latest is None):
            self._latest = snapshot
            self._wake.set()

    async def next(self) -> Snapshot:
        """The room's next read (its current one, the first time)."""
        while self._latest is None or self._latest is self._taken:
            self._wake.clear()
            await self._wake.wait()
        self._taken = self._latest
        return self._latest


@dataclass
class _Room:
    """One campaign's presence in this process: one reader for all its watchers."""

    ready: asyncio.Future[None]  # its reader listens for notices
    watchers: set[Watcher] = field(default_factory=set)
    latest: Snapshot | None = None
    reads: int = 0  # reads started
    task: asyncio.Task[None] | None = None


class Presence:
    def __init__(
        self, store: PresenceStore, notices: Notices, notify: Callable[[str, str], None]
    ) -> None:
        self.process = uuid.uuid4().hex
        self._store = store
        self._notices = notices
        self._notify = notify  # publishes a notice (the bus's notice_soon)
        self._held: Counter[tuple[int, int]] = Counter()
        self._rooms: dict[int, _Room] = {}
        self._renewer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._renewer = asyncio.create_task(self._renew_forever(), name="presence-renewer")

    async def stop(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        with contextlib.suppress(TimeoutError):  # leave at once, not in ENTRY_SECONDS
            async with asyncio.timeout(1):
                await self._store.drop(self.process, list(self._held))
        for campaign_pk in {campaign_pk for campaign_pk, _ in self._held}:
            self._notify(presence_channel(campaign_pk), "left")
        self._held.clear()

    @asynccontextmanager
    async def present(self, campaign_pk: int, user_pk: int) -> AsyncIterator[Watcher]:
        """`user_pk` counts as viewing `campaign_pk` while the context is open; the
        watcher sees each read of the campaign's presence, this entry's included."""
        entry = (campaign_pk, user_pk)
        self._held[entry] += 1
        room = self._rooms.get(campaign_pk)
        if room is None:
            room = self._rooms[campaign_pk] = _Room(asyncio.get_running_loop().create_future())
            room.task = asyncio.create_task(
                self._read_forever(campaign_pk, room), name=f"presence:{campaign_pk}"
            )
        placeholder = Watcher(0)  # keeps the room open while this one joins
        room.watchers.add(placeholder)
        watcher: Watcher | None = None
        try:
            await asyncio.shield(room.ready)
            await self._store.hold(self.process, [entry])  # another tab's too: it may not be in
            watcher = Watcher(room.reads + 1)  # its first snapshot is read after it joined
            room.watchers.add(watcher)
            room.watchers.discard(placeholder)
            self._notify(presence_channel(campaign_pk), "joined")
            yield watcher
        finally:
            room.watchers.discard(placeholder)
            if watcher is not None:
                room.watchers.discard(watcher)
            self._held[entry] -= 1
            if self._held[entry] <= 0:
                del self._held[entry]
                await self._store.drop(self.process, [entry])
                self._notify(presence_channel(campaign_pk), "left")
            if not room.watchers and self._rooms.get(campaign_pk) is room:
                del self._rooms[campaign_pk]
                if room.task is not None:
                    room.task.cancel()

    async def set_typing(self, campaign_pk: int, user_pk: int, typing: bool) -> None:
        await self._store.set_typing(campaign_pk, user_pk, typing)
        self._notify(presence_channel(campaign_pk), "typing")

    def stats(self) -> dict[str, int]:
        return {"presence_rooms": len(self._rooms), "presence_entries": len(self._held)}

    async def _read_forever(self, campaign_pk: int, room: _Room) -> None:
        """Re-reads the campaign's presence after each burst of notices, at each typing
        lapse and every REREAD_SECONDS, and hands the read to every watcher."""
        access_seq = 0
        async with self._notices.listen(presence_channel(campaign_pk)) as listener:
            room.ready.set_result(None)
            while True:
                notices, _ = listener.take()
                access_seq = max([access_seq, *_access_seqs(notices)])
                room.reads += 1
                number = room.reads
                try:
                    read = await self._store.read(campaign_pk)
                except Exception:  # the next read puts it right; the room goes on
                    logger.exception("reading the presence of campaign %s failed", campaign_pk)
                    read = None
                changed = False
                if read is not None:
                    fresh = dataclasses.replace(read, access_seq=access_seq)
                    changed = not fresh.same_as(room.latest)
                    room.latest = fresh
                if room.latest is not None:  # an unchanged read wakes only new watchers
                    for watcher in list(room.watchers):
                        watcher.offer(number, room.latest, changed)
                await _quiet(listener, room.latest)
                await asyncio.sleep(COALESCE_SECONDS)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await self._store.hold(self.process, list(self._held))
            except Exception:
                logger.exception("renewing presence entries failed")


async def _quiet(listener: Listener, latest: Snapshot | None) -> None:
    """Until a notice, the next typing lapse, or REREAD_SECONDS."""
    timeout = REREAD_SECONDS
    if latest is not None and latest.typing_lapses_at is not None:
        timeout = min(timeout, max(0.0, latest.typing_lapses_at - time.time()) + 0.05)
    await listener.wait(timeout)


def _access_seqs(notices: Collection[str]) -> list[int]:
    return [int(notice[1:]) for notice in notices if notice.startswith(ACCESS_NOTICE)]


def access_notice(seq: int) -> str:
    """The notice that a campaign's access rules changed at event `seq`."""
    return f"{ACCESS_NOTICE}{seq}"


@asynccontextmanager
async def open_presence(
    redis_url: str | None,
    notices: Notices,
    notify: Callable[[str, str], None],
    prefix: str = DEFAULT_REDIS_PREFIX,
) -> AsyncIterator[Presence]:
    async with AsyncExitStack() as stack:
        store: RedisPresence | MemoryPresence = MemoryPresence()
        if redis_url:
            redis = await stack.enter_async_context(
                bounded_redis(redis_url, POOL_SIZE, wait=2, connect_timeout=2, timeout=5)
            )
            store = RedisPresence(redis, prefix)
        presence = Presence(store, notices, notify)
        presence.start()
        try:
            yield presence
        finally:
            await presence.stop()
