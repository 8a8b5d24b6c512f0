"""Periodic work owned by the lifespan: overdue registrations, rotting cards, event-log
retention and webhook deliveries."""

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
from resolvers import retry_keys, webhooks
from resolvers.registration import notify_overdue_registrations
from resolvers.rotting_watch import log_rotting_cards
from resolvers.webhook_delivery import Deliveries, DeliveryRules
from resolvers.webhook_urls import UrlRules
from server.settings import Settings

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
    """Drop campaign events older than `days`, and webhook deliveries made before then,
    hourly."""

    async def purge() -> None:
        moment = datetime.now(UTC) - timedelta(days=days)
        await purge_before(moment)
        await webhooks.purge_delivered_before(moment)

    return periodic(3600, purge, "event log purge")


def webhook_url_rules(settings: Settings) -> UrlRules:
    """Receivers on the public internet over https; WEBHOOK_ALLOW_PRIVATE lifts both
    rules, and development allows http."""
    allow_private = settings.webhooks.allow_private
    return UrlRules(
        allow_http=allow_private or not settings.is_production, allow_private=allow_private
    )


@asynccontextmanager
async def webhook_deliveries(bus: Bus, settings: Settings) -> AsyncIterator[None]:
    """Claim the webhooks with events waiting, every WEBHOOK_POLL_SECONDS, and deliver to
    them (resolvers/webhook_delivery.py); nothing with WEBHOOK_DELIVERIES=off. Shutdown
    stops what is under way: whoever claims it next sends it again."""
    options = settings.webhooks
    if not options.deliver:
        yield
        return
    rules = DeliveryRules(
        retry_base_seconds=options.retry_base_seconds,
        failure_window_seconds=options.failure_window_seconds,
        timeout_seconds=options.timeout_seconds,
        urls=webhook_url_rules(settings),
    )
    deliveries = Deliveries(rules)

    async def claim() -> None:
        with publishing_to(bus):
            await deliveries.claim_due()

    try:
        async with periodic(options.poll_seconds, claim, "webhook deliveries"):
            yield
    finally:
        await deliveries.stop()
