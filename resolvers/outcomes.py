"""Closing a card as won (with its order) or lost (with a reason), and reopening it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from models import Campaign, EventKind, Opportunity, OpportunityResult, Order, Stage, User
from resolvers.errors import BadUserInput, DuplicateOpportunity
from resolvers.validation import clean_amount, clean_optional_text, clean_text
from resolvers.writes import card_write, log_event


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
    card: Opportunity, actor: User, *, expected_version: int | None, reason: str
) -> Opportunity:
    reason = clean_text(reason, "reason")
    async with card_write(card, expected_version) as (campaign, card):
        _check_open(card)
        card.result = OpportunityResult.LOST
        card.probability = 0
        card.failure_reason = reason
        await _close(card)
        await _log_closed(campaign, card, actor, None)
    return card


async def reopen(card: Opportunity, actor: User) -> Opportunity:
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
        card.result = OpportunityResult.OPEN
        card.failure_reason = None
        card.closed_at = None
        card.probability = stage.probability if stage.probability is not None else 0
        card.version += 1
        await card.save()
        await log_event(campaign, EventKind.OPPORTUNITY_REOPENED, actor, opportunity_id=card.pk)
    return card


async def _log_closed(
    campaign: Campaign, card: Opportunity, actor: User, order: Order | None
) -> None:
    await log_event(
        campaign,
        EventKind.OPPORTUNITY_CLOSED,
        actor,
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
    card.closed_at = datetime.now(UTC)
    card.version += 1
    await card.save()
