"""Periodic work owned by the lifespan: telling managers of overdue registrations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

from resolvers.registration import notify_overdue_registrations

logger = logging.getLogger("funnelgraph.background")


async def _every(seconds: float) -> None:
    while True:
        try:
            await notify_overdue_registrations(datetime.now(UTC))
        except Exception:  # a failed round is logged and retried; the loop must live on
            logger.exception("registration deadline check failed")
        await asyncio.sleep(seconds)


@asynccontextmanager
async def registration_watch(seconds: float) -> AsyncIterator[None]:
    """Check registration deadlines every `seconds` while the context is open."""
    task = asyncio.create_task(_every(seconds), name="registration-watch")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
