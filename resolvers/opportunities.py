"""Adding customers to campaigns, changing, copying and deleting their cards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from strawberry import UNSET
from strawberry.types.unset import UnsetType
from tortoise import timezone

from models import (
    AssignmentReason,
    Campaign,
    Customer,
    EventKind,
    NotificationKind,
    Opportunity,
    OpportunityResult,
    OpportunitySource,
    Stage,
    StageChange,
    User,
)
from models.ranking import key_between
from models.stage import active_stages
from resolvers import retry_keys, stays
from resolvers.access import member_ids
from resolvers.assignment import (
    check_owner_is_member,
    log_assigned,
    next_in_rotation,
    registration_deadline,
    tell_manager_nobody_is_free,
)
from resolvers.context import Context
from resolvers.errors import BadUserInput, DuplicateOpportunity, NotFound
from resolvers.ids import decode_id
from resolvers.notifications import notify
from resolvers.validation import (
    check_probability,
    clean_optional_amount,
    clean_optional_text,
    clean_text,
)
from resolvers.writes import Named, campaign_write, card_write, log_event


class OwnerChoice(StrEnum):
    SELF = "SELF"
    NOBODY = "NOBODY"
    USER = "USER"


@dataclass(frozen=True, slots=True)
class NewCard:
    customer_id: str
    name: str | None = None
    probability: int | None = None
    stage_id: str | None = None
    owner: OwnerChoice = OwnerChoice.SELF
    owner_id: str | None = None
    source: OpportunitySource = OpportunitySource.COMPANY_DATA
    amount: Decimal | None = None
    expected_close_at: datetime | None = None


async def create_opportunity(context: Context, campaign: Campaign, new: NewCard) -> Opportunity:
    """Put a customer into the campaign, as a card of one of its steps."""
    viewer = context.require_viewer()
    customer = await _customer(new.customer_id)
    members = await member_ids(context, campaign)
    owner_pk = _chosen_owner(new, viewer, members)
    async with campaign_write(campaign.pk) as locked:
        stage = await _stage(locked, new.stage_id)
        await _check_duplicate(locked, customer)
        reason = _REASONS[new.owner]
        if new.owner is OwnerChoice.NOBODY and locked.auto_assign:
            owner_pk = await next_in_rotation(locked)
            reason = AssignmentReason.ROUND_ROBIN
        card = await _place_new(
            locked,
            stage,
            customer,
            viewer,
            name=clean_optional_text(new.name, "name") or customer.name,
            probability=_probability(new.probability, stage),
            owner_pk=owner_pk,
            source=new.source,
            amount=clean_optional_amount(new.amount),
            expected_close_at=new.expected_close_at,
        )
        retry_keys.remember(Opportunity=card.pk)
        await log_event(
            locked,
            EventKind.OPPORTUNITY_CREATED,
            viewer,
            columns=[stage.pk],
            opportunity_id=card.pk,
            stage_id=stage.pk,
        )
        await _log_first_owner(locked, card, viewer, reason)
        await _notify_added(locked, card, viewer, members)
    return card


# How each owner choice gives a new card its owner (NOBODY: only by automatic assignment).
_REASONS = {
    OwnerChoice.SELF: AssignmentReason.CREATOR,
    OwnerChoice.USER: AssignmentReason.CHOSEN,
    OwnerChoice.NOBODY: AssignmentReason.ROUND_ROBIN,
}


async def _log_first_owner(
    campaign: Campaign, card: Opportunity, actor: User, reason: AssignmentReason
) -> None:
    """After OpportunityCreated, the card's owner as an OpportunityAssigned event; a card
    automatic assignment could give to nobody waits unowned, and its manager is told."""
    if card.owner_id is not None:
        await log_assigned(campaign, card, None, actor, reason)
    elif campaign.auto_assign:
        await tell_manager_nobody_is_free(campaign, card)


async def copy_opportunity(context: Context, source: Opportunity, target: Campaign) -> Opportunity:
    """A copy in the target campaign's first step, owned as for NOBODY."""
    viewer = context.require_viewer()
    customer = await Customer.get(id=source.customer_id)
    members = await member_ids(context, target)
    async with campaign_write(target.pk) as locked:
        if locked.pk == source.campaign_id and not locked.allow_duplicate_opportunities:
            raise DuplicateOpportunity(
                "this campaign does not allow duplicate opportunities: copy it to another one"
            )
        await _check_duplicate(locked, customer)
        stage = await _stage(locked, None)
        card = await _place_new(
            locked,
            stage,
            customer,
            viewer,
            name=source.name,
            probability=_probability(None, stage),
            owner_pk=await next_in_rotation(locked) if locked.auto_assign else None,
            source=source.source,
            amount=source.amount,
            expected_close_at=source.expected_close_at,
            copied_from_id=source.pk,
        )
        retry_keys.remember(Opportunity=card.pk)
        await log_event(
            locked,
            EventKind.OPPORTUNITY_CREATED,
            viewer,
            columns=[stage.pk],
            opportunity_id=card.pk,
            stage_id=stage.pk,
        )
        await _log_first_owner(locked, card, viewer, AssignmentReason.ROUND_ROBIN)
        await _notify_added(locked, card, viewer, members)
    return card


async def update_opportunity(
    card: Opportunity | Named,
    actor: User,
    *,
    expected_version: int | None,
    name: str | UnsetType | None = UNSET,
    probability: int | UnsetType | None = UNSET,
    amount: Decimal | UnsetType | None = UNSET,
    expected_close_at: datetime | UnsetType | None = UNSET,
) -> tuple[Opportunity, list[str]]:
    """Apply the given fields; returns the card and the GraphQL names of the fields that
    changed."""
    async with card_write(card, expected_version) as (campaign, card):
        changes: dict[str, tuple[str, object]] = {}
        if isinstance(name, str):
            changes["name"] = ("name", clean_text(name, "name"))
        if isinstance(probability, int):
            changes["probability"] = ("probability", check_probability(probability))
        if not isinstance(amount, UnsetType):
            changes["amount"] = ("amount", clean_optional_amount(amount))
        if not isinstance(expected_close_at, UnsetType):
            changes["expectedCloseAt"] = ("expected_close_at", expected_close_at)
        changed = [
            field
            for field, (attribute, value) in changes.items()
            if getattr(card, attribute) != value
        ]
        if changed:
            for field in changed:
                attribute, value = changes[field]
                setattr(card, attribute, value)
            card.version += 1
            await card.save()
            await log_event(
                campaign,
                EventKind.OPPORTUNITY_UPDATED,
                actor,
                columns=[card.stage_id],
                opportunity_id=card.pk,
                changed_fields=changed,
            )
    return card, changed


async def delete_opportunity(card: Opportunity | Named, actor: User) -> None:
    async with card_write(card, None) as (campaign, card):
        await card.delete()
        await log_event(
            campaign,
            EventKind.OPPORTUNITY_DELETED,
            actor,
            columns=[card.stage_id],
            opportunity_id=card.pk,
            stage_id=card.stage_id,
        )


async def _customer(global_id: str) -> Customer:
    customer = await Customer.get_or_none(id=decode_id(global_id, "Customer"))
    if customer is None:
        raise NotFound(f"customerId: customer {global_id!r} was not found", field="customerId")
    return customer


def _chosen_owner(new: NewCard, viewer: User, members: list[int]) -> int | None:
    if new.owner is OwnerChoice.SELF:
        return int(viewer.pk)
    if new.owner is OwnerChoice.NOBODY:
        return None
    if new.owner_id is None:
        raise BadUserInput("ownerId is required when owner is USER", field="ownerId")
    owner_pk = decode_id(new.owner_id, "User")
    check_owner_is_member(owner_pk, members)
    return owner_pk


async def _stage(campaign: Campaign, global_id: str | None) -> Stage:
    if global_id is None:
        first = await active_stages(campaign.pk).first()
        assert first is not None, "a campaign always has at least one step"
        return first
    stage = await Stage.get_or_none(id=decode_id(global_id, "Stage"))
    if stage is None or stage.campaign_id != campaign.pk or stage.removed_at is not None:
        raise BadUserInput(
            f"stageId: stage {global_id!r} is not an approach step of this campaign",
            field="stageId",
        )
    return stage


def _probability(given: int | None, stage: Stage) -> int:
    if given is not None:
        return check_probability(given)
    return stage.probability if stage.probability is not None else 0


async def _check_duplicate(campaign: Campaign, customer: Customer) -> None:
    if campaign.allow_duplicate_opportunities:
        return
    if await Opportunity.exists(
        campaign_id=campaign.pk, customer_id=customer.pk, result=OpportunityResult.OPEN
    ):
        raise DuplicateOpportunity(
            f"customer {customer.name!r} already has an open opportunity in this campaign",
        )


async def _place_new(
    campaign: Campaign,
    stage: Stage,
    customer: Customer,
    viewer: User,
    *,
    name: str,
    probability: int,
    owner_pk: int | None,
    source: OpportunitySource,
    amount: Decimal | None,
    expected_close_at: datetime | None = None,
    copied_from_id: int | None = None,
) -> Opportunity:
    """Insert the card last in its column and record its first placement."""
    last = await Opportunity.filter(stage_id=stage.pk).order_by("-rank").first()
    now = timezone.now()
    card = await Opportunity.create(
        created_at=now,
        stage_entered_at=now,
        expected_close_at=expected_close_at,
        campaign_id=campaign.pk,
        customer_id=customer.pk,
        stage_id=stage.pk,
        owner_id=owner_pk,
        name=name,
        probability=probability,
        amount=amount,
        source=source,
        rank=key_between(last.rank if last else None, None),
        registration_deadline=registration_deadline(campaign) if owner_pk is None else None,
        copied_from_id=copied_from_id,
        created_by_id=viewer.pk,
    )
    await StageChange.create(
        opportunity_id=card.pk, to_stage_id=stage.pk, actor_id=viewer.pk, at=now
    )
    await stays.run(stays.entering(card.pk, stage.pk, now))
    return card


async def _notify_added(
    campaign: Campaign, card: Opportunity, actor: User, members: list[int]
) -> None:
    """Without automatic assignment every member hears of it; with it, the owner and manager."""
    if campaign.auto_assign:
        await notify(
            NotificationKind.OPPORTUNITY_ADDED,
            [card.owner_id, campaign.manager_id],
            actor=actor,
            card=card,
        )
    else:
        await notify(NotificationKind.OPPORTUNITY_ADDED, members, actor=actor, card=card)
    if card.owner_id is not None:
        await notify(NotificationKind.OPPORTUNITY_ASSIGNED, [card.owner_id], actor=actor, card=card)
