"""Column totals in events: after any sequence of card changes, the totals carried by the
last event touching each column equal a fresh read of that column."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from tortoise import timezone

from models import CampaignEvent, Opportunity, OpportunityResult, Permission, Stage
from resolvers.ids import encode_id
from resolvers.stage_totals import ColumnTotals
from tests.factories import gid, make_campaign, make_customer, make_user, stages_of

STAGES = ("New", "Contacted", "Proposal")
CREATE = """
mutation ($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }
"""
MOVE = "mutation ($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { id } }"
UPDATE = "mutation ($input: UpdateOpportunityInput!) { updateOpportunity(input: $input) { id } }"
ASSIGN = "mutation ($input: AssignOpportunityInput!) { assignOpportunity(input: $input) { id } }"
WIN = "mutation ($input: MarkOpportunityWonInput!) { markOpportunityWon(input: $input) { id } }"
LOSE = "mutation ($input: MarkOpportunityLostInput!) { markOpportunityLost(input: $input) { id } }"
REOPEN = "mutation ($id: ID!) { reopenOpportunity(id: $id) { id } }"
DELETE = "mutation ($id: ID!) { deleteOpportunity(id: $id) }"
COLUMNS = """
query ($id: ID!) {
  campaign(id: $id) {
    stages { id opportunityCount totalAmount weightedAmount rottingCount }
  }
}
"""

AMOUNTS = st.one_of(st.none(), st.integers(0, 10**9).map(lambda cents: f"{cents / 100:.2f}"))
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "move", "update", "assign", "win", "lose", "reopen", "delete"]),
        st.integers(0, 40),
        st.integers(0, len(STAGES) - 1),
        AMOUNTS,
        st.integers(0, 100),
    ),
    min_size=1,
    max_size=12,
)


@examples(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_the_last_event_of_each_column_carries_its_current_totals(api, steps):
    # given a campaign whose first step rots at once and whose last never does
    manager = await make_user(*Permission)
    campaign = await make_campaign(manager, stages=STAGES)
    stages = await stages_of(campaign)
    for stage, days in zip(stages, (0, 1, None), strict=True):
        await Stage.filter(id=stage.pk).update(rotting_days=days)
    stages = await stages_of(campaign)
    # when a random sequence of card changes happens
    cards: list[str] = []
    for action, pick, stage_index, amount, probability in steps:
        card = cards[pick % len(cards)] if cards else None
        variables, document = _change(
            action, card, campaign, stages[stage_index], amount, probability, manager
        )
        if document is CREATE:
            variables["input"]["customerId"] = gid("Customer", await make_customer())
        result = await api.execute(document, variables, viewer=manager)
        if document is CREATE:
            cards.append(result.ok()["createOpportunity"]["id"])
        elif action == "delete" and not result.errors:
            cards.remove(card)
    # then each column's latest totals in the log equal a fresh read of the column
    latest: dict[str, ColumnTotals] = {}
    for event in await CampaignEvent.filter(campaign_id=campaign.pk).order_by("seq"):
        for data in event.data.get("stage_totals", []):
            totals = ColumnTotals.from_data(data)
            latest[encode_id("Stage", totals.stage_id)] = totals
    read = await api.execute(COLUMNS, {"id": gid("Campaign", campaign)}, viewer=manager)
    for column, stage in zip(read.ok()["campaign"]["stages"], stages, strict=True):
        totals = latest.get(column["id"], ColumnTotals(0))
        assert column["opportunityCount"] == totals.count, column
        assert column["totalAmount"] == str(totals.total_amount), column
        assert column["weightedAmount"] == str(totals.weighted_amount), column
        assert column["rottingCount"] == totals.rotting, column
        # and both equal a sum over the column's rows
        cards = await Opportunity.filter(stage_id=stage.pk)
        open_cards = [card for card in cards if card.result == OpportunityResult.OPEN]
        assert totals.count == len(cards), column
        assert totals.total_amount == sum((card.amount or 0 for card in cards), Decimal(0))
        assert totals.weighted_amount == sum(
            ((card.amount or Decimal(0)) * card.probability / 100 for card in open_cards),
            Decimal(0),
        )
        assert totals.rotting == sum(
            stage.rotting_days is not None
            and card.stage_entered_at + timedelta(days=stage.rotting_days) <= timezone.now()
            for card in open_cards
        )


def _change(action, card, campaign, stage, amount, probability, manager):
    if action == "create" or card is None:
        new = {"campaignId": gid("Campaign", campaign), "stageId": gid("Stage", stage)}
        return {"input": {**new, "amount": amount, "probability": probability}}, CREATE
    if action == "move":
        return {"input": {"id": card, "stageId": gid("Stage", stage)}}, MOVE
    if action == "update":
        return {"input": {"id": card, "amount": amount, "probability": probability}}, UPDATE
    if action == "assign":
        owner = gid("User", manager) if probability % 2 else None
        return {"input": {"id": card, "ownerId": owner}}, ASSIGN
    if action == "win":
        return {"input": {"id": card, "orderAmount": amount or "1.00"}}, WIN
    if action == "lose":
        return {"input": {"id": card, "reason": "price"}}, LOSE
    if action == "reopen":
        return {"id": card}, REOPEN
    return {"id": card}, DELETE


def test_weighted_amounts_keep_two_decimals_or_the_exact_ones():
    assert str(ColumnTotals(1, weighted=123_450 * 40).weighted_amount) == "493.80"
    assert str(ColumnTotals(1, weighted=999 * 10).weighted_amount) == "0.999"
    assert str(ColumnTotals(1, weighted=1 * 33).weighted_amount) == "0.0033"
    assert ColumnTotals(1, cents=172_050).total_amount == Decimal("1720.50")
    assert str(ColumnTotals(1).total_amount) == "0.00"
