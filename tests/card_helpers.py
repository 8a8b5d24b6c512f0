"""Small helpers for the opportunity tests: rotations, closed cards and notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from models import (
    Campaign,
    CampaignMember,
    Notification,
    NotificationKind,
    Opportunity,
    OpportunityResult,
    Permission,
    User,
)

# What a salesperson usually holds: see, add and change opportunities.
SALES = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_EDIT)


async def set_rotation(campaign: Campaign, users: Sequence[User]) -> None:
    """Put exactly `users`, in this order, in the campaign's rotation."""
    await CampaignMember.filter(campaign_id=campaign.pk).update(rotation_position=None)
    for position, user in enumerate(users):
        await CampaignMember.filter(campaign_id=campaign.pk, user_id=user.pk).update(
            rotation_position=position
        )


async def close(card: Opportunity, result: OpportunityResult) -> None:
    """Mark the card won or lost, as markOpportunityWon/Lost leave it."""
    await Opportunity.filter(id=card.pk).update(
        result=result,
        closed_at=datetime.now(UTC),
        failure_reason="No budget" if result is OpportunityResult.LOST else None,
    )


async def make_notification(
    recipient: User,
    card: Opportunity,
    kind: NotificationKind = NotificationKind.OPPORTUNITY_ADDED,
    *,
    read: bool = False,
) -> Notification:
    return await Notification.create(
        recipient_id=recipient.pk,
        kind=kind,
        opportunity_id=card.pk,
        campaign_id=card.campaign_id,
        read_at=datetime.now(UTC) if read else None,
    )
