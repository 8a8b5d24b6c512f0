"""Periodic work owned by the lifespan: overdue registrations, rotting cards and event-log
retention."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta

from tortoise import timezone

from models.database import is_unreachable
from realtime.after_commit import publishing_to
from realtime.bus import Bus
from realtime.log import purge_before
from resolvers import retry_keys
from resolvers.registration import notify_overdue_registrations
from resolvers.rotting_watch import log_rotting_cards

logger = logging.getLogger("funnelgraph.background")
ROUND_GRACE_SECONDS = 3.0


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
        except Exception as error:  # a failed round is logged and retried; the loop lives on
            if is_unreachable(error):
                logger.warning("%s: the database is out of reach (%s)", what, error)
            else:
                logger.exception("%s failed", what)


@asynccontextmanager
async def periodic(
    seconds: float, work: Callable[[], Awaitable[object]], what: str
) -> AsyncIterator[None]:
    """Run `work` every `seconds` while the context is open.

    Shutdown waits a little for a round in progress instead of cancelling it
    mid-query, then cancels it.
    """
    stop = asyncio.Event()
    task = asyncio.create_task(_every(seconds, work, what, stop), name=what)
    try:
        yield
    finally:
        stop.set()
        with suppress(TimeoutError):
            await asyncio.wait_for(task, ROUND_GRACE_SECONDS)


def registration_watch(bus: Bus, seconds: float) -> AbstractAsyncContextManager[None]:
    """Tell managers of cards that passed their registration deadline unowned."""

    async def check() -> None:
        with publishing_to(bus):
            await notify_overdue_registrations(datetime.now(UTC))

    return periodic(seconds, check, "registration deadline check")


def rotting_watch(bus: Bus, seconds: float) -> AbstractAsyncContextManager[None]:
    """Log each open card that starts rotting, and tell its owner (or the manager)."""

    async def check() -> None:
        with publishing_to(bus):
            await log_rotting_cards(timezone.now())

    return periodic(seconds, check, "rotting check")


def retry_key_purge() -> AbstractAsyncContextManager[None]:
    """Drop clientMutationIds past their 24 hours, hourly."""
    return periodic(
        3600, lambda: retry_keys.purge(datetime.now(UTC) - retry_keys.WINDOW), "retry key purge"
    )


def log_retention(days: int) -> AbstractAsyncContextManager[None]:
    """Drop campaign events older than `days`, hourly."""
    return periodic(
        3600, lambda: purge_before(datetime.now(UTC) - timedelta(days=days)), "event log purge"
    )
