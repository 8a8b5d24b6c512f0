"""Small helpers for the opportunity tests: rotations, closed cards, notifications, and a
campaign of varied cards."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

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
from tests.factories import make_customer, make_opportunity

# What a salesperson usually holds: see, add and change opportunities.
# A card's scalar fields, each read from its own row.
CARD_SCALARS = [
    "id",
    "name",
    "rank",
    "probability",
    "amount",
    "source",
    "result",
    "failureReason",
    "version",
    "createdAt",
    "closedAt",
    "registrationDeadline",
]
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


async def varied_cards(
    campaign: Campaign, owner: User, manager: User, count: int, seed: int, close_every: int
) -> list[Opportunity]:
    """`count` cards spread over the campaign's steps: unowned, the owner's or the
    manager's, some customers owned by the owner, some without amount, every
    `close_every`-th closed (won or lost)."""
    stages = list(await campaign.stages.all().order_by("position"))
    chooser = random.Random(seed)
    cards = []
    for number in range(count):
        card = await make_opportunity(
            campaign,
            await make_customer(owner if number % 3 == 0 else None),
            stage=stages[number % len(stages)],
            owner=[None, owner, manager][number % 3],
            amount=None if number % 4 == 0 else Decimal(chooser.randrange(0, 10**6)) / 100,
            probability=chooser.randrange(0, 101),
        )
        if number % close_every == 0:
            await close(card, OpportunityResult.WON if number % 2 else OpportunityResult.LOST)
        cards.append(card)
    return cards
