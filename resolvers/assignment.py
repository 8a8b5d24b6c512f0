"""Who owns a card: automatic assignment by weight and capacity, assigning, claiming and
handing over."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, cast

from models import (
    AssignmentReason,
    Campaign,
    CampaignMember,
    EventKind,
    NotificationKind,
    Opportunity,
    OpportunityResult,
    User,
)
from resolvers.errors import BadUserInput, Conflict
from resolvers.notifications import notify
from resolvers.writes import Named, card_write, log_event


async def rotation_members(
    campaign: Campaign, excluding: frozenset[int] = frozenset()
) -> list[CampaignMember]:
    """The available rotation members, in rotation order."""
    return [
        member
        for member in await CampaignMember.filter(
            campaign_id=campaign.pk, rotation_position__isnull=False, available=True
        ).order_by("rotation_position")
        if member.user_id not in excluding
    ]


def pick(rotation: list[CampaignMember], load: Counter[int]) -> int | None:
    """The rule: among `rotation` (in rotation order), the member under capacity with the
    fewest cards per unit of weight by `load`, the first on ties; None when all are full."""
    eligible = [
        member
        for member in rotation
        if member.capacity is None or load[member.user_id] < member.capacity
    ]
    if not eligible:
        return None
    # Compared as fractions: min keeps rotation order on ties.
    return min(eligible, key=lambda member: Fraction(load[member.user_id], member.weight)).user_id


async def next_in_rotation(
    campaign: Campaign, excluding: frozenset[int] = frozenset()
) -> int | None:
    """Who gets the next card automatically: `pick` over the available rotation members by
    their open cards here; None when nobody is eligible. Call under the campaign's lock, so
    that two creations never both see the last free place of a member."""
    rotation = await rotation_members(campaign, excluding)
    if not rotation:
        return None
    owners = await Opportunity.filter(
        campaign_id=campaign.pk,
        result=OpportunityResult.OPEN,
        owner_id__in=[member.user_id for member in rotation],
    ).values_list("owner_id", flat=True)
    return pick(rotation, Counter(cast("list[int]", owners)))


async def tell_manager_nobody_is_free(campaign: Campaign, card: Opportunity) -> None:
    """The card waits unowned and claimable; the manager hears why."""
    await notify(
        NotificationKind.NO_ASSIGNEE_AVAILABLE, [campaign.manager_id], actor=None, card=card
    )


def registration_deadline(campaign: Campaign) -> datetime | None:
    if campaign.registration_wait_minutes is None:
        return None
    return datetime.now(UTC) + timedelta(minutes=campaign.registration_wait_minutes)


async def set_owner(
    card: Opportunity,
    owner_pk: int | None,
    campaign: Campaign,
    actor: User | None,
    reason: AssignmentReason,
    **data: Any,
) -> None:
    """Give the card to `owner_pk` (None: unowned, waiting for a claim) and tell the new
    owner; `data` goes into the event (a bulk call's batch id)."""
    previous = card.owner_id
    card.owner_id = owner_pk
    card.registration_deadline = None if owner_pk is not None else registration_deadline(campaign)
    card.overdue_notified = False
    card.version += 1
    await card.save()
    await log_assigned(campaign, card, previous, actor, reason, **data)
    if owner_pk is not None:
        await notify(NotificationKind.OPPORTUNITY_ASSIGNED, [owner_pk], actor=actor, card=card)


async def log_assigned(
    campaign: Campaign,
    card: Opportunity,
    previous_owner_pk: int | None,
    actor: User | None,
    reason: AssignmentReason,
    **data: Any,
) -> None:
    """The OpportunityAssigned event of the card's owner change (its owner as it is now)."""
    await log_event(
        campaign,
        EventKind.OPPORTUNITY_ASSIGNED,
        actor,
        columns=[card.stage_id],
        opportunity_id=card.pk,
        previous_owner_id=previous_owner_pk,
        owner_id=card.owner_id,
        reason=reason.value,
        **data,
    )


async def claim(card: Opportunity | Named, viewer: User) -> Opportunity:
    """A participant takes an unowned open card; the first claim wins."""
    async with card_write(card, None) as (campaign, card):
        if card.owner_id is not None:
            raise Conflict("someone else already owns this opportunity")
        if card.result != OpportunityResult.OPEN:
            raise BadUserInput("only an open opportunity can be claimed")
        await set_owner(card, viewer.pk, campaign, viewer, AssignmentReason.CLAIMED)
    return card


def check_owner_is_member(owner_pk: int, members: list[int], field: str = "ownerId") -> None:
    if owner_pk not in members:
        raise BadUserInput(
            f"{field}: the owner must be the campaign's manager or one of its participants",
            field=field,
        )


async def hand_over(campaign: Campaign, leaving: set[int], actor: User | None) -> None:
    """Give the open cards of members who left to the rotation, one by one; stages stay."""
    cards = await Opportunity.filter(
        campaign_id=campaign.pk, result=OpportunityResult.OPEN, owner_id__in=list(leaving)
    ).order_by("id")
    for card in cards:
        owner = await next_in_rotation(campaign, frozenset(leaving))
        await set_owner(card, owner, campaign, actor, AssignmentReason.HANDOVER)
        if owner is None:
            await tell_manager_nobody_is_free(campaign, card)


async def assign(
    card: Opportunity,
    owner_pk: int | None,
    actor: User,
    expected_version: int | None,
) -> Opportunity:
    """The manager gives the card to a member, or leaves it unowned."""
    async with card_write(card, expected_version) as (campaign, card):
        if owner_pk is not None:
            # Read under the lock: a member removed meanwhile no longer counts.
            check_owner_is_member(owner_pk, await current_members(campaign))
        if card.owner_id != owner_pk:
            await set_owner(card, owner_pk, campaign, actor, AssignmentReason.MANAGER)
    return card


async def current_members(campaign: Campaign) -> list[int]:
    """The manager and participants as committed (call under the campaign lock)."""
    participants = await CampaignMember.filter(campaign_id=campaign.pk).values_list(
        "user_id", flat=True
    )
    return [campaign.manager_id, *cast("list[int]", participants)]
