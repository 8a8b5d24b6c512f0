"""Closing a campaign down: archiving it (read-only, out of `campaigns`) and deleting it."""

from __future__ import annotations

from tortoise import timezone

from models import Campaign, EventKind, Opportunity, Order, User
from realtime.after_commit import signal_after_commit
from realtime.channels import campaign_channel
from resolvers.errors import BadUserInput
from resolvers.writes import campaign_write, log_event


async def archive_campaign(campaign_pk: int, actor: User, archived: bool) -> Campaign:
    """Archive (or unarchive) the campaign; a CampaignUpdated event names archivedAt.
    Asking for the state it is already in changes nothing."""
    async with campaign_write(campaign_pk, even_archived=True) as campaign:
        if (campaign.archived_at is not None) == archived:
            return campaign
        campaign.archived_at = timezone.now() if archived else None
        await Campaign.filter(id=campaign.pk).update(archived_at=campaign.archived_at)
        await log_event(campaign, EventKind.CAMPAIGN_UPDATED, actor, changed_fields=["archivedAt"])
    return campaign


async def delete_campaign(campaign_pk: int) -> None:
    """Delete the campaign with its opportunities, stages, chat, events and members in one
    transaction; BAD_USER_INPUT while any order came from it. Its streams then find the
    campaign gone and end with NOT_FOUND (realtime/log.py)."""
    async with campaign_write(campaign_pk, even_archived=True) as campaign:
        if await Order.exists(campaign_id=campaign.pk):
            raise BadUserInput(
                f"campaign {campaign.code!r} has orders: it cannot be deleted (archive it instead)"
            )
        # Cards first: their steps may not go while a card is in one (RESTRICT).
        await Opportunity.filter(campaign_id=campaign.pk).delete()
        await Campaign.filter(id=campaign.pk).delete()
        signal_after_commit(campaign_channel(campaign.pk), campaign.event_seq + 1)
