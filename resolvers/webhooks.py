"""A campaign's webhooks: creating, switching, replaying and deleting them, and who sees
them (its manager and CAMPAIGN_EDIT: `may_edit_campaign`). Delivery is
resolvers/webhook_delivery.py."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from tortoise import timezone
from tortoise.expressions import Q

from models import Campaign, CampaignEvent, User, Webhook, WebhookDelivery, WebhookDeliveryStatus
from realtime.after_commit import transaction
from realtime.log import last_seq
from resolvers.access import can_see_campaign, may_edit_campaign
from resolvers.context import Context
from resolvers.errors import BadUserInput, not_found
from resolvers.event_cursors import decode_event_cursor
from resolvers.ids import decode_any
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.webhook_payload import EVENT_TYPES
from resolvers.webhook_urls import UrlRules, creatable_url
from resolvers.writes import refuse_if_archived

MAX_WEBHOOKS_PER_CAMPAIGN = 20
SECRET_BYTES = 24
NEWEST_FIRST = ("-seq",)


async def create_webhook(
    campaign: Campaign, actor: User, url: str, event_types: Sequence[str], rules: UrlRules
) -> tuple[Webhook, str]:
    """A new active webhook for the events from now on, and its secret (shown only once);
    an archived campaign is read-only: BAD_USER_INPUT."""
    refuse_if_archived(campaign)
    unknown = sorted(set(event_types) - EVENT_TYPES)
    if unknown:
        raise BadUserInput(
            f"eventTypes: {', '.join(map(repr, unknown))} are not event types "
            f"(known: {', '.join(sorted(EVENT_TYPES))})",
            field="eventTypes",
        )
    checked = await creatable_url(url, rules)
    if await Webhook.filter(campaign_id=campaign.pk).count() >= MAX_WEBHOOKS_PER_CAMPAIGN:
        raise BadUserInput(
            f"a campaign has at most {MAX_WEBHOOKS_PER_CAMPAIGN} webhooks: delete one first"
        )
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
    hook = await Webhook.create(
        campaign_id=campaign.pk,
        created_by_id=actor.pk,
        url=checked,
        event_types=list(dict.fromkeys(event_types)),
        secret=secret,
        delivered_seq=await last_seq(campaign.pk),
        lease_until=timezone.now(),  # no lease, and claims take the least recent first
    )
    return hook, secret


async def editable_webhook(context: Context, global_id: str) -> tuple[Webhook, Campaign]:
    """The webhook and its campaign, when the viewer may manage it; NOT_FOUND otherwise
    (to others a webhook is as if it did not exist)."""
    decoded = decode_any(global_id)
    hook = None
    if decoded is not None and decoded[0] == "Webhook":
        hook = await Webhook.get_or_none(id=decoded[1])
    campaign = None
    if hook is not None:
        campaign = await context.loaders.campaign_by_id.load(hook.campaign_id)
    viewer = context.viewer
    if hook is None or campaign is None or viewer is None:
        raise not_found("Webhook", global_id)
    if not may_edit_campaign(viewer, campaign) or not await can_see_campaign(context, campaign):
        raise not_found("Webhook", global_id)
    return hook, campaign


async def campaign_webhooks(viewer: User, campaign: Campaign) -> list[Webhook]:
    """The campaign's webhooks, oldest first, for its manager and CAMPAIGN_EDIT; none for
    anybody else."""
    if not may_edit_campaign(viewer, campaign):
        return []
    return list(await Webhook.filter(campaign_id=campaign.pk).order_by("id"))


async def set_active(hook: Webhook, active: bool) -> Webhook:
    """Turn deliveries off, or on again: from where they stopped, retried at once."""
    changes: dict[str, object] = {"active": active}
    if active:
        changes |= {"next_attempt_at": None, "failing_since": None, "failures": 0}
    async with transaction():
        await Webhook.filter(id=hook.pk).update(**changes)
        if active:  # the delivery that failed is waiting again
            await WebhookDelivery.filter(
                webhook_id=hook.pk, status=WebhookDeliveryStatus.FAILED
            ).update(status=WebhookDeliveryStatus.PENDING, next_attempt_at=None)
    await hook.refresh_from_db()
    return hook


async def redeliver(hook: Webhook, after: str) -> int:
    """Send every event of the webhook's types after the cursor again, in order; returns
    how many there are (those still in the log)."""
    seq = decode_event_cursor(after, hook.campaign_id)
    if seq > await last_seq(hook.campaign_id):
        raise BadUserInput("'after' is past the campaign's newest event", argument="after")
    async with transaction():
        await Webhook.filter(id=hook.pk).update(
            delivered_seq=seq, next_attempt_at=None, failing_since=None, failures=0
        )
        await WebhookDelivery.filter(webhook_id=hook.pk, seq__gt=seq).update(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at=None
        )
    events = CampaignEvent.filter(campaign_id=hook.campaign_id, seq__gt=seq)
    if hook.event_types:
        events = events.filter(Q(kind__in=hook.event_types))
    return await events.count()


async def delete_webhook(hook: Webhook) -> None:
    await Webhook.filter(id=hook.pk).delete()


async def deliveries(hook_pk: int, page: PageArgs) -> Page[WebhookDelivery]:
    """The webhook's deliveries, newest event first."""
    return await paginate(WebhookDelivery.filter(webhook_id=hook_pk), page, NEWEST_FIRST)


async def purge_delivered_before(moment: datetime) -> int:
    """Drop the rows of deliveries made before `moment` (the event log's retention):
    what is pending or failed stays."""
    return await WebhookDelivery.filter(
        status=WebhookDeliveryStatus.DELIVERED, delivered_at__lt=moment
    ).delete()
