"""Changing cards: updateOpportunity, moveOpportunity (board order, stage history),
deleteOpportunity and copyOpportunity, with versions and expectedVersion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import Opportunity, OpportunityResult, Permission, Stage, StageChange
from resolvers.ids import decode_id
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)

UPDATE_OPPORTUNITY = """
mutation UpdateOpportunity($input: UpdateOpportunityInput!) {
  updateOpportunity(input: $input) { id name probability amount version }
}
"""
MOVE_OPPORTUNITY = """
mutation MoveOpportunity($input: MoveOpportunityInput!) {
  moveOpportunity(input: $input) { id rank version probability stage { id } }
}
"""
DELETE_OPPORTUNITY = """
mutation DeleteOpportunity($id: ID!) {
  deleteOpportunity(id: $id)
}
"""
COPY_OPPORTUNITY = """
mutation CopyOpportunity($input: CopyOpportunityInput!) {
  copyOpportunity(input: $input) {
    id name amount
    owner { id }
    campaign { id }
    stage { id }
    copiedFrom { id }
    stageHistory { fromStage { id } toStage { id } }
  }
}
"""
CREATE_OPPORTUNITY = """
mutation CreateOpportunity($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) { id }
}
"""
OPPORTUNITY = """
query Opportunity($id: ID!) {
  opportunity(id: $id) { id version stage { id } }
}
"""
STAGE_HISTORY = """
query StageHistory($id: ID!) {
  opportunity(id: $id) {
    stageHistory { fromStage { id } toStage { id } actor { id } at }
  }
}
"""
STAGE_CARDS = """
query StageCards($id: ID!) {
  node(id: $id) {
    ... on Stage { opportunityCount opportunities { edges { node { id rank } } } }
  }
}
"""

SELLER = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
CARD_FIELDS = (
    "name",
    "probability",
    "amount",
    "stage_id",
    "rank",
    "result",
    "owner_id",
    "version",
)


async def snapshot(card: Opportunity) -> dict[str, object]:
    """The stored state of a card, to show a refused change left it alone."""
    stored = await Opportunity.get(id=card.pk)
    return {field: getattr(stored, field) for field in CARD_FIELDS}


async def seller_with_card(stages=("New", "Contacted", "Won"), **card_values):
    """A participant owning one card of a campaign managed by someone else."""
    seller = await make_user(*SELLER)
    campaign = await make_campaign(await make_user(*SELLER), participants=[seller], stages=stages)
    card = await make_opportunity(campaign, await make_customer(), owner=seller, **card_values)
    return seller, campaign, card


async def update(api, viewer, card, **values):
    variables = {"input": {"id": gid("Opportunity", card), **values}}
    return await api.execute(UPDATE_OPPORTUNITY, variables, viewer=viewer)


async def move(api, viewer, card, stage, after=None, **values):
    after_id = None if after is None else gid("Opportunity", after)
    variables = {
        "input": {
            "id": gid("Opportunity", card),
            "stageId": gid("Stage", stage),
            "afterId": after_id,
            **values,
        }
    }
    return await api.execute(MOVE_OPPORTUNITY, variables, viewer=viewer)


async def column(api, viewer, stage) -> list[tuple[str, str]]:
    """(id, rank) of a stage's cards as Stage.opportunities returns them."""
    result = await api.execute(STAGE_CARDS, {"id": gid("Stage", stage)}, viewer=viewer)
    edges = result.ok()["node"]["opportunities"]["edges"]
    return [(edge["node"]["id"], edge["node"]["rank"]) for edge in edges]


def ids(cards) -> list[str]:
    return [gid("Opportunity", card) for card in cards]


# updateOpportunity


async def test_update_opportunity_changes_the_given_fields_for_the_owner(api):
    # given
    seller, _campaign, card = await seller_with_card(amount=Decimal("10.00"), probability=5)
    # when
    result = await update(api, seller, card, name="  Big deal ", probability=70, amount="1250.50")
    # then
    updated = result.ok()["updateOpportunity"]
    assert updated["name"] == "Big deal"
    assert updated["probability"] == 70
    assert Decimal(updated["amount"]) == Decimal("1250.50")
    assert updated["version"] == card.version + 1
    stored = await Opportunity.get(id=card.pk)
    assert (stored.name, stored.probability, stored.amount) == ("Big deal", 70, Decimal("1250.50"))


async def test_update_opportunity_leaves_fields_out_unchanged(api):
    # given
    seller, _campaign, card = await seller_with_card(amount=Decimal("10.00"), probability=5)
    # when
    result = await update(api, seller, card, probability=30)
    # then
    updated = result.ok()["updateOpportunity"]
    assert updated["name"] == card.name
    assert Decimal(updated["amount"]) == Decimal("10.00")
    assert updated["probability"] == 30


@pytest.mark.parametrize("probability", [0, 100])
async def test_update_opportunity_accepts_probability_at_the_bounds(api, probability):
    # given
    seller, _campaign, card = await seller_with_card(probability=50)
    # when
    result = await update(api, seller, card, probability=probability)
    # then
    assert result.ok()["updateOpportunity"]["probability"] == probability
    assert (await Opportunity.get(id=card.pk)).probability == probability


@pytest.mark.parametrize("probability", [-1, 101, 1000])
async def test_update_opportunity_is_refused_when_probability_is_out_of_range(api, probability):
    # given
    seller, _campaign, card = await seller_with_card(probability=50)
    before = await snapshot(card)
    # when
    result = await update(api, seller, card, probability=probability, name="Renamed")
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "probability" in result.errors[0]["message"]
    assert result.data is None
    assert await snapshot(card) == before


async def test_update_opportunity_accepts_an_amount_of_zero(api):
    # given
    seller, _campaign, card = await seller_with_card(amount=Decimal("99.00"))
    # when
    result = await update(api, seller, card, amount="0")
    # then
    assert Decimal(result.ok()["updateOpportunity"]["amount"]) == 0
    assert (await Opportunity.get(id=card.pk)).amount == 0


async def test_update_opportunity_is_refused_when_amount_is_negative(api):
    # given
    seller, _campaign, card = await seller_with_card(amount=Decimal("99.00"))
    before = await snapshot(card)
    # when
    result = await update(api, seller, card, amount="-0.01", probability=10)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "amount" in result.errors[0]["message"]
    assert await snapshot(card) == before


async def test_update_opportunity_is_refused_when_name_is_blank(api):
    # given
    seller, _campaign, card = await seller_with_card()
    before = await snapshot(card)
    # when
    result = await update(api, seller, card, name="   ")
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "name" in result.errors[0]["message"]
    assert await snapshot(card) == before


async def test_update_opportunity_bumps_version_by_one_per_change(api):
    # given
    seller, _campaign, card = await seller_with_card()
    # when
    versions = [
        (await update(api, seller, card, probability=value)).ok()["updateOpportunity"]["version"]
        for value in (10, 20, 30)
    ]
    # then
    assert versions == [card.version + 1, card.version + 2, card.version + 3]
    assert (await Opportunity.get(id=card.pk)).version == card.version + 3


async def test_update_opportunity_with_a_matching_expected_version_succeeds(api):
    # given
    seller, _campaign, card = await seller_with_card()
    # when
    result = await update(api, seller, card, expectedVersion=card.version, name="Renamed")
    # then
    assert result.ok()["updateOpportunity"]["name"] == "Renamed"
    assert result.ok()["updateOpportunity"]["version"] == card.version + 1


async def test_update_opportunity_with_a_stale_expected_version_is_a_conflict(api):
    # given a card someone else changed since the viewer read it
    seller, _campaign, card = await seller_with_card()
    (await update(api, seller, card, name="First edit")).ok()
    before = await snapshot(card)
    # when
    result = await update(api, seller, card, expectedVersion=card.version, name="Second edit")
    # then
    assert result.codes == ["CONFLICT"]
    assert result.errors[0]["extensions"]["currentVersion"] == card.version + 1
    assert result.data is None
    assert await snapshot(card) == before


# moveOpportunity


async def test_move_opportunity_without_after_id_puts_it_first_in_the_target_column(api):
    # given
    seller, campaign, card = await seller_with_card()
    _new, contacted, _won = await stages_of(campaign)
    there = [await make_opportunity(campaign, await make_customer(), stage=contacted)]
    there.append(await make_opportunity(campaign, await make_customer(), stage=contacted))
    # when
    result = await move(api, seller, card, contacted)
    # then
    moved = result.ok()["moveOpportunity"]
    assert moved["stage"] == {"id": gid("Stage", contacted)}
    assert moved["version"] == card.version + 1
    assert [pk for pk, _rank in await column(api, seller, contacted)] == ids([card, *there])


async def test_move_opportunity_after_a_card_places_it_right_behind_that_card(api):
    # given
    seller, campaign, card = await seller_with_card()
    _new, contacted, _won = await stages_of(campaign)
    there = [await make_opportunity(campaign, await make_customer(), stage=contacted)]
    there.append(await make_opportunity(campaign, await make_customer(), stage=contacted))
    there.append(await make_opportunity(campaign, await make_customer(), stage=contacted))
    # when
    result = await move(api, seller, card, contacted, after=there[1])
    # then
    result.ok()
    expected = [there[0], there[1], card, there[2]]
    assert [pk for pk, _rank in await column(api, seller, contacted)] == ids(expected)


async def test_move_opportunity_after_the_last_card_places_it_last(api):
    # given
    seller, campaign, card = await seller_with_card()
    _new, contacted, _won = await stages_of(campaign)
    there = [await make_opportunity(campaign, await make_customer(), stage=contacted)]
    there.append(await make_opportunity(campaign, await make_customer(), stage=contacted))
    # when
    result = await move(api, seller, card, contacted, after=there[1])
    # then
    result.ok()
    assert [pk for pk, _rank in await column(api, seller, contacted)] == ids([*there, card])


async def test_move_opportunity_is_refused_when_after_id_is_a_card_of_another_column(api):
    # given
    seller, campaign, card = await seller_with_card()
    new, contacted, _won = await stages_of(campaign)
    neighbour = await make_opportunity(campaign, await make_customer(), stage=new)
    await make_opportunity(campaign, await make_customer(), stage=contacted)
    before = await snapshot(card)
    # when
    result = await move(api, seller, card, contacted, after=neighbour)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "afterId" in result.errors[0]["message"]
    assert result.data is None
    assert await snapshot(card) == before
    assert await StageChange.filter(opportunity_id=card.pk).count() == 1


async def test_move_opportunity_is_refused_when_after_id_is_the_card_itself(api):
    # given
    seller, campaign, card = await seller_with_card()
    new, _contacted, _won = await stages_of(campaign)
    before = await snapshot(card)
    # when
    result = await move(api, seller, card, new, after=card)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert await snapshot(card) == before


async def test_move_opportunity_is_refused_when_the_stage_belongs_to_another_campaign(api):
    # given a stage of another campaign the seller also takes part in
    seller, _campaign, card = await seller_with_card()
    elsewhere = await make_campaign(await make_user(), participants=[seller])
    foreign_stage = (await stages_of(elsewhere))[1]
    before = await snapshot(card)
    # when
    result = await move(api, seller, card, foreign_stage)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "stageId" in result.errors[0]["message"]
    assert await snapshot(card) == before
    assert await Opportunity.filter(stage_id=foreign_stage.pk).count() == 0
    assert await StageChange.filter(opportunity_id=card.pk).count() == 1


async def test_move_opportunity_with_a_matching_expected_version_succeeds(api):
    # given
    seller, campaign, card = await seller_with_card()
    _new, contacted, _won = await stages_of(campaign)
    # when
    result = await move(api, seller, card, contacted, expectedVersion=card.version)
    # then
    assert result.ok()["moveOpportunity"]["version"] == card.version + 1
    assert (await Opportunity.get(id=card.pk)).stage_id == contacted.pk


async def test_move_opportunity_with_a_stale_expected_version_is_a_conflict(api):
    # given
    seller, campaign, card = await seller_with_card()
    _new, contacted, won = await stages_of(campaign)
    (await move(api, seller, card, contacted)).ok()
    before = await snapshot(card)
    # when
    result = await move(api, seller, card, won, expectedVersion=card.version)
    # then
    assert result.codes == ["CONFLICT"]
    assert result.errors[0]["extensions"]["currentVersion"] == card.version + 1
    assert await snapshot(card) == before
    assert await StageChange.filter(opportunity_id=card.pk).count() == 2


async def test_move_opportunity_series_keeps_the_expected_board_order_and_byte_sorted_ranks(api):
    # given two columns, the first holding five cards
    manager = await make_user(*SELLER)
    campaign = await make_campaign(manager, stages=["A", "B"])
    a, b = await stages_of(campaign)
    cards = [await make_opportunity(campaign, await make_customer(), stage=a) for _ in range(5)]
    board = {a.pk: list(cards), b.pk: []}
    c1, c2, c3, c4, c5 = cards
    # putting cards first again and again walks ranks below "a0" into "Z..." keys, and
    # squeezing cards between the same two neighbours lengthens their fractions
    moves = [
        (c5, a, None),
        (c4, a, None),
        (c3, a, c4),
        (c2, a, c4),
        (c1, a, c4),
        (c5, b, None),
        (c3, b, c5),
        (c4, b, None),
        (c2, b, c4),
        (c1, a, None),
    ]
    for _ in range(6):
        moves += [(c3, b, c4), (c2, b, c4)]
    for _ in range(3):
        moves += [(c5, b, None), (c3, b, None)]
    moves += [(c2, a, c1), (c1, a, c2), (c3, a, None), (c3, b, c5)]
    for card, stage, after in moves:
        # when
        (await move(api, manager, card, stage, after)).ok()
        # the same move on the expected board
        for column_cards in board.values():
            if card in column_cards:
                column_cards.remove(card)
        position = 0 if after is None else board[stage.pk].index(after) + 1
        board[stage.pk].insert(position, card)
        # then
        for stage_row in (a, b):
            shown = await column(api, manager, stage_row)
            ranks = [rank for _pk, rank in shown]
            assert [pk for pk, _rank in shown] == ids(board[stage_row.pk])
            assert sorted(ranks) == ranks
            assert sorted(rank.encode() for rank in ranks) == [rank.encode() for rank in ranks]
            assert len(set(ranks)) == len(ranks)


async def test_move_opportunity_to_a_stage_with_a_default_probability_sets_it(api):
    # given
    seller, campaign, card = await seller_with_card(probability=10)
    _new, contacted, _won = await stages_of(campaign)
    await Stage.filter(id=contacted.pk).update(probability=40)
    # when
    result = await move(api, seller, card, contacted)
    # then
    assert result.ok()["moveOpportunity"]["probability"] == 40
    assert (await Opportunity.get(id=card.pk)).probability == 40


async def test_move_opportunity_to_a_stage_without_a_default_probability_keeps_it(api):
    # given
    seller, campaign, card = await seller_with_card(probability=10)
    _new, contacted, _won = await stages_of(campaign)
    # when
    result = await move(api, seller, card, contacted)
    # then
    assert result.ok()["moveOpportunity"]["probability"] == 10


async def test_move_opportunity_within_its_column_keeps_its_probability(api):
    # given a card whose probability was set by hand in a step with a default
    seller, campaign, card = await seller_with_card(probability=70)
    new, _contacted, _won = await stages_of(campaign)
    await Stage.filter(id=new.pk).update(probability=40)
    other = await make_opportunity(campaign, await make_customer(), stage=new)
    # when
    result = await move(api, seller, card, new, after=other)
    # then
    assert result.ok()["moveOpportunity"]["probability"] == 70


async def test_move_opportunity_of_a_closed_card_keeps_its_probability(api):
    # given
    seller, campaign, card = await seller_with_card()
    _new, contacted, _won = await stages_of(campaign)
    await Opportunity.filter(id=card.pk).update(result=OpportunityResult.LOST, probability=0)
    await Stage.filter(id=contacted.pk).update(probability=40)
    # when
    result = await move(api, seller, card, contacted)
    # then
    assert result.ok()["moveOpportunity"]["probability"] == 0


# stageHistory


async def test_stage_history_lists_the_first_placement_and_every_stage_change_oldest_first(api):
    # given a card added through the API, then moved by its owner and by the manager
    manager = await make_user(*SELLER, Permission.OPPORTUNITY_CREATE)
    seller = await make_user(*SELLER)
    campaign = await make_campaign(manager, participants=[seller])
    new, contacted, won = await stages_of(campaign)
    created = await api.execute(
        CREATE_OPPORTUNITY,
        {
            "input": {
                "campaignId": gid("Campaign", campaign),
                "customerId": gid("Customer", await make_customer()),
                "owner": "USER",
                "ownerId": gid("User", seller),
            }
        },
        viewer=manager,
    )
    card = await Opportunity.get(
        id=decode_id(created.ok()["createOpportunity"]["id"], "Opportunity")
    )
    # when
    (await move(api, seller, card, contacted)).ok()
    (await move(api, manager, card, won)).ok()
    (await move(api, seller, card, new)).ok()
    result = await api.execute(STAGE_HISTORY, {"id": gid("Opportunity", card)}, viewer=seller)
    # then
    history = result.ok()["opportunity"]["stageHistory"]
    stage_ids = [{"id": gid("Stage", stage)} for stage in (new, contacted, won, new)]
    assert [row["fromStage"] for row in history] == [None, *stage_ids[:-1]]
    assert [row["toStage"] for row in history] == stage_ids
    assert [row["actor"]["id"] for row in history] == [
        gid("User", manager),
        gid("User", seller),
        gid("User", manager),
        gid("User", seller),
    ]
    assert [row["at"] for row in history] == sorted(row["at"] for row in history)


async def test_stage_history_gains_no_row_for_a_move_within_the_same_column(api):
    # given
    seller, campaign, card = await seller_with_card()
    new, _contacted, _won = await stages_of(campaign)
    other = await make_opportunity(campaign, await make_customer(), stage=new)
    # when
    (await move(api, seller, card, new, after=other)).ok()
    (await move(api, seller, card, new)).ok()
    result = await api.execute(STAGE_HISTORY, {"id": gid("Opportunity", card)}, viewer=seller)
    # then
    history = result.ok()["opportunity"]["stageHistory"]
    assert len(history) == 1
    assert history[0]["toStage"] == {"id": gid("Stage", new)}
    assert (await Opportunity.get(id=card.pk)).version == card.version + 2


# deleteOpportunity


async def test_delete_opportunity_returns_its_id_and_the_card_is_gone(api):
    # given
    seller = await make_user(*SELLER, Permission.OPPORTUNITY_DELETE)
    campaign = await make_campaign(await make_user(), participants=[seller])
    card = await make_opportunity(campaign, await make_customer(), owner=seller)
    new = (await stages_of(campaign))[0]
    # when
    result = await api.execute(DELETE_OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=seller)
    # then
    assert result.ok()["deleteOpportunity"] == gid("Opportunity", card)
    assert not await Opportunity.exists(id=card.pk)
    read = await api.execute(OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=seller)
    assert read.data == {"opportunity": None}
    assert read.codes == ["NOT_FOUND"]
    assert await column(api, seller, new) == []


async def test_delete_opportunity_is_forbidden_to_the_owner_without_opportunity_delete(api):
    # given
    seller, _campaign, card = await seller_with_card()
    before = await snapshot(card)
    # when
    result = await api.execute(DELETE_OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=seller)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert result.data is None
    assert await snapshot(card) == before


# copyOpportunity


async def copy_setup(participants=(), **target_values):
    """A manager of two campaigns (with OPPORTUNITY_CREATE) and a card in the second step
    of the first."""
    manager = await make_user(*SELLER, Permission.OPPORTUNITY_CREATE)
    source = await make_campaign(manager)
    target = await make_campaign(manager, participants, **target_values)
    card = await make_opportunity(
        source,
        await make_customer(),
        stage=(await stages_of(source))[1],
        owner=manager,
        amount=Decimal("500.00"),
    )
    return manager, source, target, card


async def copy(api, viewer, card, campaign):
    variables = {"input": {"id": gid("Opportunity", card), "campaignId": gid("Campaign", campaign)}}
    return await api.execute(COPY_OPPORTUNITY, variables, viewer=viewer)


async def test_copy_opportunity_lands_unowned_in_the_first_step_of_the_target_campaign(api):
    # given
    manager, _source, target, card = await copy_setup()
    first_step = (await stages_of(target))[0]
    # when
    result = await copy(api, manager, card, target)
    # then
    copied = result.ok()["copyOpportunity"]
    assert copied["id"] != gid("Opportunity", card)
    assert copied["campaign"] == {"id": gid("Campaign", target)}
    assert copied["stage"] == {"id": gid("Stage", first_step)}
    assert copied["copiedFrom"] == {"id": gid("Opportunity", card)}
    assert copied["owner"] is None
    assert copied["name"] == card.name
    assert Decimal(copied["amount"]) == Decimal("500.00")
    assert copied["stageHistory"] == [
        {"fromStage": None, "toStage": {"id": gid("Stage", first_step)}}
    ]
    assert await Opportunity.filter(campaign_id=target.pk).count() == 1


async def test_copy_opportunity_into_an_auto_assign_campaign_goes_to_the_rotation(api):
    # given a rotation whose first member already holds an open card there
    busy, free = await make_user(), await make_user()
    manager, _source, target, card = await copy_setup([busy, free], auto_assign=True)
    await make_opportunity(target, await make_customer(), owner=busy)
    # when
    result = await copy(api, manager, card, target)
    # then
    assert result.ok()["copyOpportunity"]["owner"] == {"id": gid("User", free)}


async def test_copy_opportunity_into_its_own_campaign_is_refused_without_duplicates(api):
    # given
    manager, source, _target, card = await copy_setup()
    # when
    result = await copy(api, manager, card, source)
    # then
    assert result.codes == ["DUPLICATE_OPPORTUNITY"]
    assert result.data is None
    assert await Opportunity.filter(campaign_id=source.pk).count() == 1


async def test_copy_opportunity_into_its_own_campaign_succeeds_when_duplicates_are_allowed(api):
    # given
    manager = await make_user(*SELLER, Permission.OPPORTUNITY_CREATE)
    campaign = await make_campaign(manager, allow_duplicate_opportunities=True)
    new, contacted, _won = await stages_of(campaign)
    card = await make_opportunity(campaign, await make_customer(), stage=contacted)
    # when
    result = await copy(api, manager, card, campaign)
    # then
    copied = result.ok()["copyOpportunity"]
    assert copied["stage"] == {"id": gid("Stage", new)}
    assert copied["copiedFrom"] == {"id": gid("Opportunity", card)}
    assert await Opportunity.filter(campaign_id=campaign.pk).count() == 2


async def test_copy_opportunity_into_a_campaign_the_viewer_cannot_see_is_not_found(api):
    # given
    manager, _source, _target, card = await copy_setup()
    hidden = await make_campaign(await make_user())
    # when
    result = await copy(api, manager, card, hidden)
    # then
    assert result.codes == ["NOT_FOUND"]
    assert result.data is None
    assert await Opportunity.filter(campaign_id=hidden.pk).count() == 0


async def test_copy_opportunity_is_forbidden_without_opportunity_create(api):
    # given
    seller, _campaign, card = await seller_with_card()
    target = await make_campaign(await make_user(), participants=[seller])
    # when
    result = await copy(api, seller, card, target)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert await Opportunity.filter(campaign_id=target.pk).count() == 0
