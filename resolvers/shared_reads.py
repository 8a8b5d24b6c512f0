"""Reads shared by every stream of the process: one read per key in flight, its result
kept for a while."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from realtime.shared_task import SharedTask

V = TypeVar("V")


class Missing:
    """Not known yet (or no longer fresh): read it."""


MISSING = Missing()


@dataclass(slots=True)
class _Entry(Generic[V]):
    read_at: float
    task: SharedTask[V]
    read: Callable[[], Awaitable[V]]
    refresh: SharedTask[V] | None = None  # a read started before it goes stale


class SharedReads(Generic[V]):
    """A value per key, read at most once per `ttl` seconds however many streams ask at
    once (a thousand streams meeting a stale entry make one query, not a thousand).

    A value past half its ttl is read again in the background while it is still
    served, so that a key in steady use never makes anyone wait for its read. Under
    load that read may take longer than the rest of the ttl: the value is then served
    until the read is in, for at most twice the ttl (a thousand streams waiting on one
    read, and then all waking at once, would make the load worse).

    A read (in the background, or of a value gone stale) that finds the value `same`
    as before keeps the value served (the same object), only fresher: callers that
    judged that object (a stream's access, resolvers/subscriptions.py) need not judge
    it again. Without `same`, every read replaces the value.
    """

    def __init__(
        self,
        ttl: float,
        limit: int = 10_000,
        same: Callable[[V, V], bool] | None = None,
    ) -> None:
        self._ttl = ttl
        self._limit = limit
        self._same = same
        self._entries: dict[Hashable, _Entry[V]] = {}

    def known(self, key: Hashable) -> V | Missing:
        """The key's value if it is read and fresh, else MISSING (the fast path: no await)."""
        entry = self._entries.get(key)
        if entry is None or not entry.task.succeeded():
            return MISSING
        age = time.monotonic() - entry.read_at
        if age >= self._ttl:
            refreshing = entry.refresh is not None and not entry.refresh.task.done()
            if not refreshing or age >= 2 * self._ttl:
                return MISSING
        elif age >= self._ttl / 2 and entry.refresh is None:
            entry.refresh = self._refresh(key, entry)
        return entry.task.task.result()

    async def get(
        self,
        key: Hashable,
        read: Callable[[], Awaitable[V]],
        usable: Callable[[V], bool] = lambda _: True,
    ) -> V:
        """The key's value, read again when older than the ttl, failed, or not `usable`."""
        known = self.known(key)
        if not isinstance(known, Missing) and usable(known):
            return known
        entry = self._entries.get(key)
        # Read again for its age (not because this caller cannot use it): the older
        # object stays served if the read finds the same.
        older = None
        if isinstance(known, Missing) and entry is not None and entry.task.succeeded():
            older = entry.task
        if entry is not None and not entry.task.task.done():  # a read in flight: share it
            value = await entry.task.result()
            if usable(value):
                return value
        if len(self._entries) >= self._limit:
            self._entries.clear()
        task = SharedTask(read())
        fresh = self._entries[key] = _Entry(time.monotonic(), task, read)
        if older is not None and self._same is not None:
            task.then(partial(self._keep_older, fresh, older))
        return await task.result()

    def _kept(self, older: SharedTask[V], new: SharedTask[V]) -> SharedTask[V]:
        """The read to serve once `new` is in: `older` when it found the same value."""
        same = self._same
        if same is not None and new.succeeded() and same(older.task.result(), new.task.result()):
            return older
        return new

    def _keep_older(self, entry: _Entry[V], older: SharedTask[V]) -> None:
        entry.task = self._kept(older, entry.task)

    def _refresh(self, key: Hashable, entry: _Entry[V]) -> SharedTask[V]:
        started = time.monotonic()
        refresh = SharedTask(entry.read())

        def settle(_: asyncio.Future[V]) -> None:
            if self._entries.get(key) is not entry:
                return  # replaced meanwhile by a read of its own
            if refresh.succeeded():
                self._entries[key] = _Entry(started, self._kept(entry.task, refresh), entry.read)
            else:
                entry.refresh = None  # the next caller tries again

        refresh.task.add_done_callback(settle)
        return refresh

    def clear(self) -> None:
        self._entries.clear()
