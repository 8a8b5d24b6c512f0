"""The garbage collector tuned for a server: short pauses, and few of them.

Every request leaves a few dozen objects in reference cycles (uvicorn's request cycle,
graphql-core's executor, our context and loaders), which only the collector frees.
A young collection walks everything allocated since the last one, so its threshold
sets the length of a pause: at 50,000 a young collection took 20 to 70 ms under a
stream of simple queries (p99 71 ms, 2,170 req/s), at 10,000 about 6 ms (p99 32 ms,
2,850 req/s); at CPython's 700 a process holding 10,000 live streams promotes the
objects of every event in flight and sets off full collections every few events
(`bench.fanout`: 212 µs of CPU per delivery at 700, 38 at 50,000).

A full collection walks every object that survived: the schema, the models, the
libraries, tens of MB of objects that live as long as the process. They are frozen
once the app has started (gc.freeze), so full collections walk only what the
process made since, and unfrozen at shutdown.

Live sockets are the same kind of object: 10,000 subscribed sockets are over a
million objects, and a full collection that walked them took 1.7 s, all other work
stopped (the 10,000-subscriber run met one every ten events or so). So whatever
survives a full collection is frozen too, and later ones walk only what survived
since. Frozen objects are still freed when their last reference goes; only cycles
among them wait (those of sockets that were open at a freeze and closed since): the
first full collection REBASE_SECONDS after the last such one unfreezes everything
first, walks it all and frees them. A server of 10,000 sockets pays that walk every
five minutes. Sooner when sockets closed in numbers: their objects not in cycles are
freed at once, so the frozen set shrinks; a check every FREED_CHECK_SECONDS rebases and
collects as soon as it has lost FREED_SHARE of the most it held (no sooner than
FREED_REBASE_SECONDS after the last rebase). 10,000 sockets closed left 10 KiB each in
frozen cycles, which the next 10,000 did not reuse; freed, they are.

The first full collection after 10,000 sockets opened would walk them all too (1.3 s,
in the middle of the first events they were sent). The younger collections that
promoted them each took 70 to 120 ms: a young collection that takes LONG_YOUNG_SECONDS
or more has met many objects that live on, so its survivors are frozen as well. The
short young collections of a steady load freeze nothing.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

THRESHOLDS = (10_000, 20, 10)
REBASE_SECONDS = 300.0
FREED_SHARE = 0.25
FREED_REBASE_SECONDS = 30.0
FREED_CHECK_SECONDS = 10.0
LONG_YOUNG_SECONDS = 0.02


class _FreezeSurvivors:
    """A gc callback: freezes what a full collection or a long young one leaves, and
    lets one full collection per REBASE_SECONDS walk everything (sooner once much of
    what was frozen has been freed: _check_freed)."""

    def __init__(self) -> None:
        self._rebased_at = time.monotonic()
        self._started = 0.0
        self._freezing = False
        self._frozen_peak = 0  # the most _check_freed counted since the last rebase
        self._check: asyncio.TimerHandle | None = None

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        now = time.monotonic()
        if info["generation"] != 2:
            if phase == "start":
                self._started = now
            elif now - self._started >= LONG_YOUNG_SECONDS:
                self._freeze_soon()
            return
        if phase == "stop":
            self._freeze_soon()
            return
        if now - self._rebased_at >= REBASE_SECONDS:
            self._rebase(now)  # before this collection starts: it walks everything

    def _rebase(self, now: float) -> None:
        self._rebased_at = now
        self._frozen_peak = 0
        gc.unfreeze()

    def _check_freed(self) -> None:
        """Every FREED_CHECK_SECONDS (once the loop has frozen something): a rebase and a
        full collection now when the frozen set has lost FREED_SHARE of the most it held
        at these checks since the last rebase. A process whose sockets closed may make no
        collection of its own for long. Counting the frozen set walks it (3 ms for 1.3
        million objects): here only, not at each freeze."""
        self._schedule_check()
        frozen = gc.get_freeze_count()
        self._frozen_peak = max(self._frozen_peak, frozen)
        now = time.monotonic()
        if now - self._rebased_at < FREED_REBASE_SECONDS:
            return
        if frozen <= self._frozen_peak * (1 - FREED_SHARE):
            self._rebase(now)
            gc.collect()

    def _schedule_check(self) -> None:
        self._check = asyncio.get_running_loop().call_later(FREED_CHECK_SECONDS, self._check_freed)

    def stop(self) -> None:
        if self._check is not None:
            self._check.cancel()

    def _freeze_soon(self) -> None:
        """At the event loop's next turn, once whatever set the collection off is done:
        code that collects and then looks for an object's referrers (gc.get_referrers
        does not see frozen ones; Hypothesis does it) sees them all. A collection in
        another thread leaves it to the next one."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if not self._freezing:
            self._freezing = True
            loop.call_soon(self._freeze)

    def _freeze(self) -> None:
        self._freezing = False
        gc.freeze()
        if self._check is None:
            self._schedule_check()


@contextmanager
def tuned_collector() -> Iterator[None]:
    """For the life of the app, in each worker process."""
    gc.set_threshold(*THRESHOLDS)
    gc.freeze()  # no collection first: what start-up left as garbage is freed at unfreeze
    freezer = _FreezeSurvivors()
    gc.callbacks.append(freezer)
    try:
        yield
    finally:
        freezer.stop()
        gc.callbacks.remove(freezer)
        gc.unfreeze()
