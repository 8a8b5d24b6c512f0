"""A campaign's members and their automatic-assignment settings: weight, capacity and
whether they are available (resolvers/assignment.py reads them)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import cast

from strawberry import UNSET
from strawberry.types.unset import UnsetType

from models import (
    Campaign,
    CampaignMember,
    EventKind,
    Opportunity,
    OpportunityResult,
    User,
)
from resolvers.access import may_edit_campaign
from resolvers.errors import BadUserInput, Forbidden
from resolvers.writes import campaign_write, log_event

MAX_WEIGHT = 100


@dataclass(frozen=True, slots=True)
class Member:
    user_pk: int
    is_manager: bool
    in_rotation: bool
    weight: int
    capacity: int | None
    available: bool
    open_count: int


async def members_of(campaign: Campaign, rows: list[CampaignMember]) -> list[Member]:
    """The manager first, then the participants by name (one query for the open counts,
    one for the names)."""
    owners = await Opportunity.filter(
        campaign_id=campaign.pk, result=OpportunityResult.OPEN, owner_id__isnull=False
    ).values_list("owner_id", flat=True)
    open_counts = Counter(cast("list[int]", owners))
    by_user = {row.user_id: row for row in rows}
    names = dict(
        await User.filter(id__in=[campaign.manager_id, *by_user]).values_list("id", "name")
    )
    participants = sorted(
        (pk for pk in by_user if pk != campaign.manager_id), key=lambda pk: (names.get(pk), pk)
    )
    ordered = [campaign.manager_id, *participants]
    return [_member(campaign, pk, by_user.get(pk), open_counts[pk]) for pk in ordered]


def _member(
    campaign: Campaign, user_pk: int, row: CampaignMember | None, open_count: int
) -> Member:
    if row is None:  # the manager, not a participant: never in the rotation
        return Member(user_pk, True, False, 1, None, True, open_count)
    return Member(
        user_pk,
        user_pk == campaign.manager_id,
        row.rotation_position is not None,
        row.weight,
        row.capacity,
        row.available,
        open_count,
    )


async def update_member(
    campaign_pk: int,
    actor: User,
    user_pk: int,
    *,
    weight: int | UnsetType | None = UNSET,
    capacity: int | UnsetType | None = UNSET,
    available: bool | UnsetType | None = UNSET,
) -> Member:
    """The manager or CAMPAIGN_EDIT set any of them; a participant only their own
    `available`. A CampaignUpdated event names "members" when something changed."""
    async with campaign_write(campaign_pk) as campaign:
        row = await CampaignMember.get_or_none(campaign_id=campaign.pk, user_id=user_pk)
        if row is None:
            raise BadUserInput("userId must be a participant of the campaign", field="userId")
        may_edit = may_edit_campaign(actor, campaign)
        only_own_availability = (
            actor.pk == user_pk
            and isinstance(weight, UnsetType)
            and isinstance(capacity, UnsetType)
        )
        if not may_edit and not only_own_availability:
            raise Forbidden(
                "a member's settings are for the campaign's manager or CAMPAIGN_EDIT; "
                "members may only set their own availability"
            )
        before = (row.weight, row.capacity, row.available)
        if not isinstance(weight, UnsetType):
            row.weight = _weight(weight)
        if not isinstance(capacity, UnsetType):
            row.capacity = _capacity(capacity)
        if not isinstance(available, UnsetType):
            if available is None:
                raise BadUserInput("available must not be null", field="available")
            row.available = available
        if (row.weight, row.capacity, row.available) != before:
            await row.save(update_fields=["weight", "capacity", "available"])
            await log_event(campaign, EventKind.CAMPAIGN_UPDATED, actor, changed_fields=["members"])
        open_count = await Opportunity.filter(
            campaign_id=campaign.pk, result=OpportunityResult.OPEN, owner_id=user_pk
        ).count()
    return _member(campaign, user_pk, row, open_count)


def _weight(weight: int | None) -> int:
    if weight is None or not 1 <= weight <= MAX_WEIGHT:
        raise BadUserInput(f"weight must be between 1 and {MAX_WEIGHT}", field="weight")
    return weight


def _capacity(capacity: int | None) -> int | None:
    if capacity is not None and capacity < 0:
        raise BadUserInput("capacity must be 0 or more (null: no cap)", field="capacity")
    return capacity
