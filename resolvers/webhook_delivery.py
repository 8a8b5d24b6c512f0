"""Delivering campaign events to webhooks: at least once, in seq order per webhook.

The log is the queue. A webhook's `delivered_seq` is how far its receiver has answered
2xx; the next event after it (of its types) is the one to send, and it holds every later
one until it gets through. Any server process may do the work: it claims a webhook that
has events waiting with a lease (`lease_until`, three attempt timeouts long; on
PostgreSQL the claim skips rows another claim holds: `FOR UPDATE SKIP LOCKED`), renews
it with each delivery, and moves `delivered_seq` on only while it holds the lease and
nobody moved it meanwhile (a redelivery). A process that dies mid-delivery leaves its
lease to run out; another then sends the same event again, with the same webhook-id.

Each event's attempts are a row of `webhook_delivery` (one per webhook and event). A
failed attempt waits WEBHOOK_RETRY_BASE_SECONDS, doubling with each failure in a row (up
to an hour; a success, a redelivery or turning the webhook on starts again);
once a webhook has failed for WEBHOOK_FAILURE_WINDOW_SECONDS it turns inactive, that
delivery is FAILED, and its creator gets WEBHOOK_DISABLED.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from tortoise import timezone
from tortoise.expressions import F, Q

from models import (
    CampaignEvent,
    NotificationKind,
    Opportunity,
    Webhook,
    WebhookDelivery,
    WebhookDeliveryStatus,
)
from realtime import metrics
from realtime.after_commit import transaction
from realtime.log import last_seq
from resolvers import webhook_payload
from resolvers.notifications import notify_about_campaign
from resolvers.webhook_urls import Receiver, RefusedReceiver, UrlRules, receiver

logger = logging.getLogger("funnelgraph.webhooks")

MAX_WAIT_SECONDS = 3600.0
CLAIMS_AT_ONCE = 16  # webhooks one process delivers to at the same time
EVENTS_PER_CLAIM = 100  # then the webhook goes back for any process to claim
EVENT_BATCH = 50
LEASE_TIMEOUTS = 3  # a lease lasts this many attempt timeouts
USER_AGENT = "Funnelgraph-Webhooks/1"
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class DeliveryRules:
    urls: UrlRules
    retry_base_seconds: float = 1.0
    failure_window_seconds: float = 86_400.0
    timeout_seconds: float = 10.0

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=LEASE_TIMEOUTS * self.timeout_seconds)

    def wait_after(self, failures: int) -> timedelta:
        """How long the `failures`-th failure in a row waits before the next attempt."""
        seconds = self.retry_base_seconds * 2.0 ** min(failures - 1, 40)
        return timedelta(seconds=min(seconds, MAX_WAIT_SECONDS))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got: a status code, or why there was none."""

    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Deliveries:
    """One process's share of the webhook deliveries: `claim_due` takes what is waiting
    (up to CLAIMS_AT_ONCE webhooks at a time) and delivers to each in a task of its own."""

    def __init__(self, rules: DeliveryRules, http: httpx.AsyncClient | None = None) -> None:
        self.rules = rules
        self._http = http  # made at the first attempt: a client costs ~20 ms (its TLS context)
        self._own_http = http is None
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.working: set[asyncio.Task[None]] = set()

    async def claim_due(self) -> int:
        """Claim the webhooks with events waiting and no lease, and start on them."""
        room = CLAIMS_AT_ONCE - len(self.working)
        if room <= 0:
            return 0
        now = timezone.now()
        async with transaction():
            due = await (
                Webhook.filter(active=True, campaign__event_seq__gt=F("delivered_seq"))
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
                .order_by("lease_until", "id")  # the one left alone longest first
                .limit(room)
                .select_for_update(skip_locked=True, of=("webhook",))
            )
            if due:
                await Webhook.filter(id__in=[hook.pk for hook in due]).update(
                    lease_until=now + self.rules.lease, lease_owner=self.owner
                )
        for hook in due:
            task = asyncio.create_task(self._deliver(hook), name=f"webhook {hook.pk}")
            self.working.add(task)
            task.add_done_callback(self.working.discard)
        return len(due)

    async def stop(self) -> None:
        """Stop delivering; what was under way is sent again by whoever claims it next."""
        for task in list(self.working):
            task.cancel()
        await asyncio.gather(*self.working, return_exceptions=True)
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            # No proxy from the environment: the checked address is the one connected to.
            self._http = httpx.AsyncClient(
                follow_redirects=False, trust_env=False, timeout=self.rules.timeout_seconds
            )
        return self._http

    async def _deliver(self, hook: Webhook) -> None:
        try:
            await self._deliver_claimed(hook)
        except Exception:
            logger.exception("delivering to webhook %s failed", hook.pk)
        finally:
            await asyncio.shield(self._release(hook))

    async def _deliver_claimed(self, hook: Webhook) -> None:
        """Send the claimed webhook's events in seq order, until none is left, one fails,
        EVENTS_PER_CLAIM went out, or somebody else moved the webhook on."""
        sent = 0
        while sent < EVENTS_PER_CLAIM:
            events = await _events_after(hook)
            if not events:
                await self._past_purged(hook)
                return
            for event in events:
                if not wanted(hook, event):
                    continue
                outcome = await self.attempt(hook, event)
                if not outcome.delivered:
                    await self._failed(hook, event, outcome)
                    return
                if not await self._delivered(hook, event, outcome):
                    return
                sent += 1
                if sent >= EVENTS_PER_CLAIM:
                    return
            # The rest were of other types: past them.
            passed = events[-1].seq > hook.delivered_seq
            if passed and not await self._move_on(hook, events[-1].seq, {}):
                return

    async def _past_purged(self, hook: Webhook) -> None:
        """No event is left after `delivered_seq` though the campaign numbered more: the
        retention purged them. Move on to the last seq, read before looking again (an
        event numbered after that read is not skipped)."""
        last = await last_seq(hook.campaign_id)
        if last > hook.delivered_seq and not await _events_after(hook):
            await self._move_on(hook, last, {})

    async def attempt(self, hook: Webhook, event: CampaignEvent) -> Outcome:
        """POST the event to the webhook's receiver once: no redirect followed, the whole
        attempt within the timeout, the receiver's body not read."""
        card = None
        card_pk = event.data.get("opportunity_id")
        if event.kind in webhook_payload.CARD_SHOWN and card_pk is not None:
            card = await Opportunity.get_or_none(id=card_pk)
        sent = webhook_payload.body(event, card)
        headers = webhook_payload.signed_headers(
            hook.secret, webhook_payload.message_id(event), sent, timezone.now()
        )
        try:
            async with asyncio.timeout(self.rules.timeout_seconds):
                target = await receiver(hook.url, self.rules.urls)
                code = await self._post(target, sent, headers)
        except RefusedReceiver as refused:
            return Outcome(None, str(refused))
        except TimeoutError:
            return Outcome(None, f"no answer within {self.rules.timeout_seconds:g} s")
        except httpx.HTTPError as error:
            return Outcome(None, f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH])
        return Outcome(code, None if 200 <= code < 300 else f"the receiver answered {code}")

    async def _post(self, target: Receiver, sent: bytes, headers: dict[str, str]) -> int:
        """POST to the receiver's first address that takes the connection; its status."""
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        headers = {**headers, "host": target.host_header(), "user-agent": USER_AGENT}
        for address in target.addresses[:-1]:
            try:
                return await self._post_to(target.connect_url(address), sent, headers, extensions)
            except httpx.ConnectError:
                continue  # the next address (IPv4 after IPv6, say)
        last = target.connect_url(target.addresses[-1])
        return await self._post_to(last, sent, headers, extensions)

    async def _post_to(
        self, url: str, sent: bytes, headers: dict[str, str], extensions: dict[str, str]
    ) -> int:
        async with self.http.stream(
            "POST", url, content=sent, headers=headers, extensions=extensions
        ) as response:
            return response.status_code  # the body is not read

    async def _delivered(self, hook: Webhook, event: CampaignEvent, outcome: Outcome) -> bool:
        metrics.webhook_delivery("delivered")
        now = timezone.now()
        async with transaction():
            await _record(hook, event, outcome, WebhookDeliveryStatus.DELIVERED, None, now)
            moved = await self._move_on(
                hook, event.seq, {"failing_since": None, "next_attempt_at": None, "failures": 0}
            )
        if moved:
            hook.failing_since, hook.failures = None, 0
        return moved

    async def _move_on(self, hook: Webhook, seq: int, more: dict[str, object]) -> bool:
        """Move `delivered_seq` on to `seq` and renew the lease, if this process still
        holds it and nobody moved the webhook meanwhile; False: stop working on it."""
        changed = await Webhook.filter(
            id=hook.pk, lease_owner=self.owner, delivered_seq=hook.delivered_seq
        ).update(delivered_seq=seq, lease_until=timezone.now() + self.rules.lease, **more)
        if changed:
            hook.delivered_seq = seq
        return bool(changed)

    async def _failed(self, hook: Webhook, event: CampaignEvent, outcome: Outcome) -> None:
        metrics.webhook_delivery("failed")
        now = timezone.now()
        failing_since = hook.failing_since or now
        window = timedelta(seconds=self.rules.failure_window_seconds)
        async with transaction():
            if now - failing_since >= window:
                await _record(hook, event, outcome, WebhookDeliveryStatus.FAILED, None, now)
                turned_off = await Webhook.filter(
                    id=hook.pk, lease_owner=self.owner, active=True
                ).update(active=False, next_attempt_at=None, failing_since=failing_since)
                if turned_off and hook.created_by_id is not None:
                    notify_about_campaign(
                        NotificationKind.WEBHOOK_DISABLED, hook.created_by_id, hook.campaign_id
                    )
                logger.warning(
                    "webhook %s turned off: failing since %s (%s)",
                    hook.pk,
                    failing_since.isoformat(),
                    outcome.error,
                )
                return
            failures = hook.failures + 1
            next_at = now + self.rules.wait_after(failures)
            await _record(hook, event, outcome, WebhookDeliveryStatus.PENDING, next_at, now)
            await Webhook.filter(
                id=hook.pk, lease_owner=self.owner, delivered_seq=hook.delivered_seq
            ).update(next_attempt_at=next_at, failing_since=failing_since, failures=failures)

    async def _release(self, hook: Webhook) -> None:
        try:
            await Webhook.filter(id=hook.pk, lease_owner=self.owner).update(
                lease_until=timezone.now(),
                lease_owner=None,  # over, and when
            )
        except Exception:  # its lease runs out by itself
            logger.warning("could not release webhook %s", hook.pk, exc_info=True)


async def _events_after(hook: Webhook) -> list[CampaignEvent]:
    return list(
        await CampaignEvent.filter(campaign_id=hook.campaign_id, seq__gt=hook.delivered_seq)
        .order_by("seq")
        .limit(EVENT_BATCH)
    )


def wanted(hook: Webhook, event: CampaignEvent) -> bool:
    return not hook.event_types or event.kind.value in hook.event_types


async def _record(
    hook: Webhook,
    event: CampaignEvent,
    outcome: Outcome,
    status: WebhookDeliveryStatus,
    next_attempt_at: datetime | None,
    now: datetime,
) -> None:
    """The attempt in the event's delivery row (made by its first attempt)."""
    values: dict[str, Any] = {
        "status": status,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "next_attempt_at": next_attempt_at,
        "delivered_at": now if status is WebhookDeliveryStatus.DELIVERED else None,
    }
    changed = await WebhookDelivery.filter(webhook_id=hook.pk, seq=event.seq).update(
        attempts=F("attempts") + 1, **values
    )
    if not changed:
        await WebhookDelivery.create(
            webhook_id=hook.pk, seq=event.seq, event_type=event.kind.value, attempts=1, **values
        )
