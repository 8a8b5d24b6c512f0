"""Operations per second per subject, counted in the shared store without making a request
wait on it while the subject is well under its cap.

Below half the cap (as far as this process knows: the store's total as of its last sync,
plus what it admitted since) an operation is admitted at once and counted in the store
in the next batch: the first operation after a sync starts the next one, which goes out
BATCH_SECONDS later with every operation admitted meanwhile (a process serving hundreds
of operations a second sends a few dozen counts a second, not one per operation). From
half the cap on, each operation is counted in the store before it is admitted, so the
cap holds across processes.

The tolerance, stated: what other processes admitted but have not yet counted (at most
one batch each: BATCH_SECONDS and a Redis round trip's worth) can be missing from the
total a process checks against the cap, so a window may admit that much more than the
cap. With Redis unreachable, each process holds the cap on its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger("funnelgraph.limits")

WINDOW_SECONDS = 1
KEEP_SECONDS = 2  # how long the store keeps a window's count
BATCH_SECONDS = 0.05


class BatchCounters(Protocol):
    async def add(self, counts: Mapping[str, int], window_seconds: int) -> dict[str, int]:
        """Adds each count to its key's window; the totals after (a key the store could
        not count is left out)."""
        ...


@dataclass(slots=True)
class _Window:
    second: int
    synced: int = 0  # the store's total, as of this process's last sync
    pending: int = 0  # admitted here since


class OperationBudget:
    def __init__(
        self,
        counters: BatchCounters,
        clock: Callable[[], float] = time.time,
        batch_seconds: float = BATCH_SECONDS,
    ) -> None:
        self._counters = counters
        self._clock = clock
        self._batch_seconds = batch_seconds
        self._windows: dict[str, _Window] = {}
        self._second = 0
        self._sync: asyncio.Task[None] | None = None

    async def admit(self, subject: str, cap: int) -> bool:
        """Counts one operation of `subject` in this second's window, unless the window is
        full: then False (the refusal is counted too, as a shared counter would)."""
        second = int(self._clock())
        if second != self._second:
            self._second = second
            self._windows = {k: w for k, w in self._windows.items() if w.second >= second}
        key = f"ops:{subject}:{second}"
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(second)
        known = window.synced + window.pending
        if known < cap // 2:
            window.pending += 1
            if self._sync is None or self._sync.done():
                self._sync = asyncio.get_running_loop().create_task(self._run_syncs())
            return True
        return await self._admit_counted(key, window, cap)

    async def _admit_counted(self, key: str, window: _Window, cap: int) -> bool:
        """Near the cap: this operation (and any not yet counted) counted first."""
        count = window.pending + 1
        window.synced += count
        window.pending = 0
        local = window.synced
        totals = await self._counters.add({key: count}, KEEP_SECONDS)
        total = totals.get(key)
        if total is None:  # the store is out of reach: this process's own count decides
            return local <= cap
        window.synced = max(window.synced, total)
        return total <= cap

    async def flushed(self) -> None:
        """Waits until every operation admitted so far is counted in the store."""
        while self._sync is not None and not self._sync.done():
            await asyncio.shield(self._sync)

    async def _run_syncs(self) -> None:
        await asyncio.sleep(self._batch_seconds)  # what is admitted meanwhile rides along
        while batch := {k: w for k, w in self._windows.items() if w.pending}:
            counts = {key: window.pending for key, window in batch.items()}
            for window in batch.values():
                window.synced += window.pending
                window.pending = 0
            try:
                totals = await self._counters.add(counts, KEEP_SECONDS)
            except Exception:  # never let a failed sync stop the next one
                logger.exception("counting operations in the shared store failed")
                return
            for key, window in batch.items():
                window.synced = max(window.synced, totals.get(key, 0))
