"""Periodic work owned by the lifespan: overdue registrations and event-log retention."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta

from realtime.log import purge_before
from resolvers.registration import notify_overdue_registrations

logger = logging.getLogger("funnelgraph.background")


async def _every(
    seconds: float, work: Callable[[], Awaitable[object]], what: str, stop: asyncio.Event
) -> None:
    while True:
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        if stop.is_set():
            return
        try:
            await work()
        except Exception:  # a failed round is logged and retried; the loop must live on
            logger.exception("%s failed", what)


@asynccontextmanager
async def periodic(
    seconds: float, work: Callable[[], Awaitable[object]], what: str
) -> AsyncIterator[None]:
    """Run `work` every `seconds` while the context is open.

    Shutdown waits for a round in progress instead of cancelling it mid-query.
    """
    stop = asyncio.Event()
    task = asyncio.create_task(_every(seconds, work, what, stop), name=what)
    try:
        yield
    finally:
        stop.set()
        await task


def registration_watch(seconds: float) -> AbstractAsyncContextManager[None]:
    """Tell managers of cards that passed their registration deadline unowned."""
    return periodic(
        seconds,
        lambda: notify_overdue_registrations(datetime.now(UTC)),
        "registration deadline check",
    )


def log_retention(days: int) -> AbstractAsyncContextManager[None]:
    """Drop campaign events older than `days`, hourly."""
    return periodic(
        3600, lambda: purge_before(datetime.now(UTC) - timedelta(days=days)), "event log purge"
    )
