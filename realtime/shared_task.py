"""A task that many streams await at once, each free to leave without cancelling it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


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
        for callback in then or ():
            callback()

    def then(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the task is done, however it ended (now, if it is)."""
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
