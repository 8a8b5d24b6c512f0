"""A task that many streams await at once, each free to leave without cancelling it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# `then` callbacks run per turn of the event loop: a live event's execution has one per
# subscriber waiting for it, each sending its frame (about 30 us), and 10,000 of them in
# one pass held every other request up for 300 ms and more.
THEN_SLICE = 256


class SharedTask(Generic[T]):
    """`asyncio.shield` or an `asyncio.Event` per waiter would do the same, but each of
    their waiters unregisters itself from a shared list: O(n) each, so O(n²) when
    10,000 streams wait on one read or one execution. Here each waiter has its own
    future, all woken in one pass, and a waiter that leaves just leaves its future."""

    __slots__ = ("_then", "_waiters", "task")

    def __init__(self, work: Awaitable[T], name: str | None = None) -> None:
        self.task: asyncio.Future[T] = asyncio.ensure_future(work)
        if name is not None and isinstance(self.task, asyncio.Task):
            self.task.set_name(name)
        self._waiters: list[asyncio.Future[None]] = []
        self._then: list[Callable[[], None]] | None = None  # most tasks get none
        self.task.add_done_callback(self._wake)

    def _wake(self, _: asyncio.Future[T]) -> None:
        for waiter in self._waiters:
            if not waiter.done():  # one whose stream left meanwhile
                waiter.set_result(None)
        self._waiters.clear()
        then, self._then = self._then, None
        if then:
            _call_sliced(then, 0)

    def then(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the task is done, however it ended (now, if it is).
        Callbacks run in the order they came, THEN_SLICE of them per turn of the loop."""
        if self.task.done():
            callback()
        elif self._then is None:
            self._then = [callback]
        else:
            self._then.append(callback)

    def succeeded(self) -> bool:
        task = self.task
        return task.done() and not task.cancelled() and task.exception() is None

    async def finished(self) -> None:
        """Until the task is done, however it ended (cancelling the caller only
        cancels the caller's wait)."""
        if not self.task.done():
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    async def result(self) -> T:
        """The task's result, or what it raised."""
        await self.finished()
        return self.task.result()


def _call_sliced(callbacks: list[Callable[[], None]], start: int) -> None:
    """Calls THEN_SLICE of `callbacks` from `start`, and the rest at the loop's next turn:
    what is ready meanwhile (a request, another channel's rows) runs in between."""
    end = start + THEN_SLICE
    for callback in itertools.islice(callbacks, start, end):
        callback()
    if end < len(callbacks):
        asyncio.get_running_loop().call_soon(_call_sliced, callbacks, end)
