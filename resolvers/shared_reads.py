"""Reads shared by every stream of the process: one read per key in flight, its result
kept for a while."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Missing:
    """Not known yet (or no longer fresh): read it."""


MISSING = Missing()


class SharedReads(Generic[V]):
    """A value per key, read at most once per `ttl` seconds however many streams ask at
    once (a thousand streams meeting a stale entry make one query, not a thousand)."""

    def __init__(self, ttl: float, limit: int = 10_000) -> None:
        self._ttl = ttl
        self._limit = limit
        self._entries: dict[Hashable, tuple[float, asyncio.Task[V]]] = {}

    def known(self, key: Hashable) -> V | Missing:
        """The key's value if it is read and fresh, else MISSING (the fast path: no await)."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] >= self._ttl:
            return MISSING
        task = entry[1]
        if not task.done() or task.cancelled() or task.exception() is not None:
            return MISSING
        return task.result()

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
        now = time.monotonic()
        if entry is not None and now - entry[0] < self._ttl and not entry[1].done():
            return await asyncio.shield(entry[1])  # a read in flight: share it
        if len(self._entries) >= self._limit:
            self._entries.clear()
        task = asyncio.ensure_future(read())
        self._entries[key] = (now, task)
        return await asyncio.shield(task)

    def clear(self) -> None:
        self._entries.clear()
