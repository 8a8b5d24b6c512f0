"""Closing a card as won (with its order) or lost (with a reason), and reopening it."""

from __future__ import annotations

from decimal import Decimal

from tortoise import timezone

from models import (
    Campaign,
    EventKind,
    Opportunity,
    OpportunityResult,
    Order,
    Stage,
    StayEnd,
    User,
)
from resolvers import stays
from resolvers.errors import BadUserInput, DuplicateOpportunity
from resolvers.loss_reasons import usable_loss_reason
from resolvers.validation import clean_amount, clean_optional_text, clean_text
from resolvers.writes import Named, card_write, log_event


async def mark_won(
    card: Opportunity,
    actor: User,
    *,
    expected_version: int | None,
    order_amount: Decimal,
    order_note: str | None,
) -> tuple[Opportunity, Order]:
    """WON at 100%, and its order, in one transaction."""
    amount = clean_amount(order_amount, "orderAmount")
    async with card_write(card, expected_version) as (campaign, card):
        _check_open(card)
        card.result = OpportunityResult.WON
        card.probability = 100
        card.failure_reason = None
        await _close(card)
        order = await Order.create(
            amount=amount,
            note=clean_optional_text(order_note, "orderNote"),
            opportunity_id=card.pk,
            customer_id=card.customer_id,
            campaign_id=card.campaign_id,
            created_by_id=actor.pk,
        )
        await _log_closed(campaign, card, actor, order)
    return card, order


async def mark_lost(
    card: Opportunity,
    actor: User,
    *,
    expected_version: int | None,
    reason: str,
    loss_reason_id: str | None = None,
) -> Opportunity:
    """LOST at 0%, with a note (`reason`) and, optionally, one of the campaign's managed
    loss reasons."""
    reason = clean_text(reason, "reason")
    async with card_write(card, expected_version) as (campaign, card):
        _check_open(card)
        if loss_reason_id is not None:
            card.loss_reason_id = await usable_loss_reason(campaign, loss_reason_id)
        card.result = OpportunityResult.LOST
        card.probability = 0
        card.failure_reason = reason
        await _close(card)
        await _log_closed(campaign, card, actor, None)
    return card


async def reopen(card: Opportunity | Named, actor: User) -> Opportunity:
    """Back to OPEN, at its step's default probability."""
    async with card_write(card, None) as (campaign, card):
        if card.result == OpportunityResult.OPEN:
            raise BadUserInput("the opportunity is already open")
        if (
            not campaign.allow_duplicate_opportunities
            and await Opportunity.filter(
                campaign_id=campaign.pk, customer_id=card.customer_id, result=OpportunityResult.OPEN
            ).exists()
        ):
            raise DuplicateOpportunity(
                "the customer already has another open opportunity in this campaign"
            )
        stage = await Stage.get(id=card.stage_id)
        now = timezone.now()
        card.result = OpportunityResult.OPEN
        card.failure_reason = None
        card.loss_reason_id = None
        card.closed_at = None
        card.stage_entered_at = now
        await stays.run(stays.entering(card.pk, card.stage_id, now))
        card.probability = stage.probability if stage.probability is not None else 0
        card.version += 1
        await card.save()
        await log_event(
            campaign,
            EventKind.OPPORTUNITY_REOPENED,
            actor,
            columns=[card.stage_id],
            opportunity_id=card.pk,
        )
    return card


async def _log_closed(
    campaign: Campaign, card: Opportunity, actor: User, order: Order | None
) -> None:
    await log_event(
        campaign,
        EventKind.OPPORTUNITY_CLOSED,
        actor,
        columns=[card.stage_id],
        opportunity_id=card.pk,
        result=card.result.value,
        failure_reason=card.failure_reason,
        order_id=order.pk if order else None,
    )


def _check_open(card: Opportunity) -> None:
    if card.result != OpportunityResult.OPEN:
        raise BadUserInput(
            f"the opportunity is already {card.result.value.lower()}: reopen it first"
        )


async def _close(card: Opportunity) -> None:
    card.closed_at = timezone.now()
    card.version += 1
    await card.save()
    ended_by = StayEnd.WON if card.result == OpportunityResult.WON else StayEnd.LOST
    await stays.run(stays.leaving(card, card.closed_at, ended_by))
