"""Closing cards: markOpportunityWon (with its order), markOpportunityLost,
reopenOpportunity, and the stage totals that depend on the result."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import Customer, Opportunity, OpportunityResult, Order, Permission
from resolvers.ids import encode_id
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)

CARD_FIELDS = "id result probability failureReason closedAt version"
MARK_WON = f"""
mutation MarkWon($input: MarkOpportunityWonInput!) {{
  markOpportunityWon(input: $input) {{
    {CARD_FIELDS}
    orders {{ amount note createdBy {{ id }} customer {{ id }} campaign {{ id }} }}
  }}
}}
"""
MARK_LOST = f"""
mutation MarkLost($input: MarkOpportunityLostInput!) {{
  markOpportunityLost(input: $input) {{ {CARD_FIELDS} }}
}}
"""
REOPEN = f"""
mutation Reopen($id: ID!) {{
  reopenOpportunity(id: $id) {{ {CARD_FIELDS} }}
}}
"""
UPDATE_OPPORTUNITY = """
mutation UpdateOpportunity($input: UpdateOpportunityInput!) {
  updateOpportunity(input: $input) { id }
}
"""
STAGE_TOTALS = """
query StageTotals($id: ID!) {
  campaign(id: $id) { stages { opportunityCount totalAmount weightedAmount } }
}
"""

SELLER = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
STORED_FIELDS = ("result", "probability", "failure_reason", "closed_at", "version")


async def snapshot(card: Opportunity) -> dict[str, object]:
    """The stored state of a card, to show a refused change left it alone."""
    stored = await Opportunity.get(id=card.pk)
    return {field: getattr(stored, field) for field in STORED_FIELDS}


async def sales_team():
    """A manager and a participant owning one open card of the manager's campaign."""
    manager = await make_user(*SELLER)
    seller = await make_user(*SELLER)
    campaign = await make_campaign(manager, participants=[seller])
    customer = await make_customer()
    card = await make_opportunity(campaign, customer, owner=seller, probability=30)
    return manager, seller, campaign, card


async def mark_won(api, viewer, card, amount="1200.00", **values):
    variables = {"input": {"id": gid("Opportunity", card), "orderAmount": amount, **values}}
    return await api.execute(MARK_WON, variables, viewer=viewer)


async def mark_lost(api, viewer, card, reason="Went with a competitor", **values):
    variables = {"input": {"id": gid("Opportunity", card), "reason": reason, **values}}
    return await api.execute(MARK_LOST, variables, viewer=viewer)


async def reopen(api, viewer, card):
    return await api.execute(REOPEN, {"id": gid("Opportunity", card)}, viewer=viewer)


# markOpportunityWon


async def test_mark_won_closes_the_card_at_100_percent_with_its_order(api):
    # given
    _manager, seller, campaign, card = await sales_team()
    # when
    result = await mark_won(api, seller, card, "1200.50", orderNote="  First delivery ")
    # then
    won = result.ok()["markOpportunityWon"]
    assert won["result"] == "WON"
    assert won["probability"] == 100
    assert won["closedAt"] is not None
    assert won["failureReason"] is None
    assert won["version"] == card.version + 1
    [order] = won["orders"]
    assert Decimal(order["amount"]) == Decimal("1200.50")
    assert order["note"] == "First delivery"
    assert order["createdBy"] == {"id": gid("User", seller)}
    assert order["customer"] == {"id": encode_id("Customer", card.customer_id)}
    assert order["campaign"] == {"id": gid("Campaign", campaign)}
    stored = await Opportunity.get(id=card.pk)
    assert (stored.result, stored.probability) == (OpportunityResult.WON, 100)
    assert stored.closed_at is not None
    assert await Order.filter(opportunity_id=card.pk).count() == 1


async def test_mark_won_with_a_matching_expected_version_succeeds(api):
    # given
    _manager, seller, _campaign, card = await sales_team()
    # when
    result = await mark_won(api, seller, card, expectedVersion=card.version)
    # then
    assert result.ok()["markOpportunityWon"]["result"] == "WON"


async def test_mark_won_with_a_stale_expected_version_is_a_conflict(api):
    # given
    _manager, seller, _campaign, card = await sales_team()
    await Opportunity.filter(id=card.pk).update(version=card.version + 1)
    before = await snapshot(card)
    # when
    result = await mark_won(api, seller, card, expectedVersion=card.version)
    # then
    assert result.codes == ["CONFLICT"]
    assert result.errors[0]["extensions"]["currentVersion"] == card.version + 1
    assert await snapshot(card) == before
    assert await Order.all().count() == 0


async def test_mark_won_is_refused_when_already_won(api):
    # given
    _manager, seller, _campaign, card = await sales_team()
    (await mark_won(api, seller, card)).ok()
    before = await snapshot(card)
    # when
    result = await mark_won(api, seller, card, "99.00")
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "won" in result.errors[0]["message"]
    assert result.data is None
    assert await snapshot(card) == before
    assert await Order.filter(opportunity_id=card.pk).count() == 1


async def test_mark_won_is_refused_when_the_order_amount_is_negative(api):
    # given
    _manager, seller, _campaign, card = await sales_team()
    before = await snapshot(card)
    # when
    result = await mark_won(api, seller, card, "-1")
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "orderAmount" in result.errors[0]["message"]
    assert await snapshot(card) == before
    assert await Order.all().count() == 0


async def test_mark_won_leaves_the_card_open_when_its_order_is_refused(api):
    # given an order note too long to store, checked after the card was already closed
    _manager, seller, _campaign, card = await sales_team()
    before = await snapshot(card)
    # when
    result = await mark_won(api, seller, card, orderNote="x" * 4001)
    # then the card's change is rolled back with the order
    assert result.codes == ["BAD_USER_INPUT"]
    assert "orderNote" in result.errors[0]["message"]
    assert await snapshot(card) == before
    assert await Order.all().count() == 0


# markOpportunityLost


async def test_mark_lost_closes_the_card_at_0_percent_with_its_reason(api):
    # given
    _manager, seller, _campaign, card = await sales_team()
    # when
    result = await mark_lost(api, seller, card, reason="  Budget frozen ")
    # then
    lost = result.ok()["markOpportunityLost"]
    assert lost["result"] == "LOST"
    assert lost["probability"] == 0
    assert lost["failureReason"] == "Budget frozen"
    assert lost["closedAt"] is not None
    assert lost["version"] == card.version + 1
    stored = await Opportunity.get(id=card.pk)
    assert (stored.result, stored.failure_reason) == (OpportunityResult.LOST, "Budget frozen")
    assert await Order.all().count() == 0


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
async def test_mark_lost_is_refused_when_the_reason_is_blank(api, reason):
    # given
    _manager, seller, _campaign, card = await sales_team()
    before = await snapshot(card)
    # when
    result = await mark_lost(api, seller, card, reason=reason)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "reason" in result.errors[0]["message"]
    assert result.data is None
    assert await snapshot(card) == before


async def test_mark_lost_is_refused_when_already_won(api):
    # given
    _manager, seller, _campaign, card = await sales_team()
    (await mark_won(api, seller, card)).ok()
    before = await snapshot(card)
    # when
    result = await mark_lost(api, seller, card)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert await snapshot(card) == before


async def test_mark_lost_with_a_stale_expected_version_is_a_conflict(api):
    # given
    _manager, seller, _campaign, card = await sales_team()
    await Opportunity.filter(id=card.pk).update(version=card.version + 4)
    before = await snapshot(card)
    # when
    result = await mark_lost(api, seller, card, expectedVersion=card.version)
    # then
    assert result.codes == ["CONFLICT"]
    assert result.errors[0]["extensions"]["currentVersion"] == card.version + 4
    assert await snapshot(card) == before


# reopenOpportunity


async def test_reopen_by_the_manager_returns_a_lost_card_to_open(api):
    # given
    manager, seller, _campaign, card = await sales_team()
    (await mark_lost(api, seller, card)).ok()
    # when
    result = await reopen(api, manager, card)
    # then
    reopened = result.ok()["reopenOpportunity"]
    assert reopened["result"] == "OPEN"
    assert reopened["closedAt"] is None
    assert reopened["failureReason"] is None
    assert reopened["version"] == card.version + 2
    stored = await Opportunity.get(id=card.pk)
    assert (stored.result, stored.closed_at) == (OpportunityResult.OPEN, None)


async def test_reopen_by_the_manager_returns_a_won_card_to_open_and_keeps_its_order(api):
    # given
    manager, seller, _campaign, card = await sales_team()
    (await mark_won(api, seller, card)).ok()
    # when
    result = await reopen(api, manager, card)
    # then
    assert result.ok()["reopenOpportunity"]["result"] == "OPEN"
    assert result.ok()["reopenOpportunity"]["closedAt"] is None
    assert await Order.filter(opportunity_id=card.pk).count() == 1


async def test_reopen_is_forbidden_to_the_owner_who_is_not_the_manager(api):
    # given
    _manager, seller, _campaign, card = await sales_team()
    (await mark_lost(api, seller, card)).ok()
    before = await snapshot(card)
    # when
    result = await reopen(api, seller, card)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert result.data is None
    assert await snapshot(card) == before


async def test_reopen_is_not_found_for_an_outsider(api):
    # given
    _manager, seller, _campaign, card = await sales_team()
    (await mark_lost(api, seller, card)).ok()
    before = await snapshot(card)
    # when
    result = await reopen(api, await make_user(*SELLER), card)
    # then
    assert result.codes == ["NOT_FOUND"]
    assert await snapshot(card) == before


async def test_reopen_is_refused_when_the_card_is_open(api):
    # given
    manager, _seller, _campaign, card = await sales_team()
    before = await snapshot(card)
    # when
    result = await reopen(api, manager, card)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert await snapshot(card) == before


# Stage totals


async def test_stage_totals_sum_every_card_and_weight_only_the_open_ones(api):
    # given open, won and lost cards (one without an amount) in the first step
    manager = await make_user(*SELLER)
    campaign = await make_campaign(manager)
    _new, contacted, _won = await stages_of(campaign)
    open_cards = [(Decimal("1000.00"), 30), (Decimal("250.50"), 50), (None, 80)]
    for amount, probability in open_cards:
        await make_opportunity(
            campaign, await make_customer(), amount=amount, probability=probability
        )
    won = await make_opportunity(
        campaign, await make_customer(), amount=Decimal("400.00"), probability=60
    )
    lost = await make_opportunity(
        campaign, await make_customer(), amount=Decimal("70.00"), probability=20
    )
    (await mark_won(api, manager, won)).ok()
    (await mark_lost(api, manager, lost)).ok()
    await make_opportunity(
        campaign, await make_customer(), stage=contacted, amount=Decimal("9.99"), probability=10
    )
    # when
    result = await api.execute(STAGE_TOTALS, {"id": gid("Campaign", campaign)}, viewer=manager)
    # then
    first, second, third = result.ok()["campaign"]["stages"]
    assert first["opportunityCount"] == 5
    assert Decimal(first["totalAmount"]) == Decimal("1720.50")
    assert Decimal(first["weightedAmount"]) == Decimal("300.00") + Decimal("125.25")
    assert second["opportunityCount"] == 1
    assert Decimal(second["totalAmount"]) == Decimal("9.99")
    assert Decimal(second["weightedAmount"]) == Decimal("0.999")
    assert third["opportunityCount"] == 0
    assert Decimal(third["totalAmount"]) == 0
    assert Decimal(third["weightedAmount"]) == 0


async def test_stage_totals_follow_a_card_that_is_reopened(api):
    # given
    manager, seller, campaign, card = await sales_team()
    await Opportunity.filter(id=card.pk).update(amount=Decimal("200.00"))
    (await mark_lost(api, seller, card)).ok()
    (await reopen(api, manager, card)).ok()
    variables = {"input": {"id": gid("Opportunity", card), "probability": 25}}
    (await api.execute(UPDATE_OPPORTUNITY, variables, viewer=seller)).ok()
    # when
    result = await api.execute(STAGE_TOTALS, {"id": gid("Campaign", campaign)}, viewer=manager)
    # then
    first = result.ok()["campaign"]["stages"][0]
    assert Decimal(first["totalAmount"]) == Decimal("200.00")
    assert Decimal(first["weightedAmount"]) == Decimal("50.00")


async def test_reopen_is_a_duplicate_when_the_customer_has_another_open_card_there(api):
    # given a lost card whose customer was added again to the same campaign
    manager, seller, campaign, card = await sales_team()
    (await mark_lost(api, seller, card)).ok()
    await make_opportunity(campaign, await Customer.get(id=card.customer_id), owner=seller)
    before = await snapshot(card)
    # when
    result = await reopen(api, manager, card)
    # then
    assert result.codes == ["DUPLICATE_OPPORTUNITY"]
    assert await snapshot(card) == before
