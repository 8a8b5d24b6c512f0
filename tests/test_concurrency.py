"""Racing writers on one board: real concurrent requests against PostgreSQL.

Each test sends its mutations at once with asyncio.gather through the ASGI app;
the app's asyncpg pool is widened here so that many of them hold a connection
(and wait on the campaign row lock) at the same moment.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from tortoise import connections

from models import Opportunity, Permission, User
from tests.conftest import make_settings
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)
from tests.graphql import GraphQLClient, Result

pytestmark = pytest.mark.postgres_only

POOL_SIZE = 20

MOVE_OPPORTUNITY = """
mutation Move($input: MoveOpportunityInput!) {
  moveOpportunity(input: $input) { id version rank stage { id } }
}
"""
CLAIM_OPPORTUNITY = """
mutation Claim($id: ID!) {
  claimOpportunity(id: $id) { id version owner { id } }
}
"""
BOARD = """
query Board($id: ID!) {
  campaign(id: $id) {
    stages { id name opportunities(first: 200) { edges { node { id rank } } } }
  }
}
"""


@pytest.fixture
def settings(database_url):
    # Tortoise's asyncpg pool holds 5 connections unless told otherwise.
    return make_settings(f"{database_url}?minsize=1&maxsize={POOL_SIZE}")


async def at_once(
    api: GraphQLClient, calls: list[tuple[str, dict[str, Any], User]]
) -> list[Result]:
    """Send every (document, variables, viewer) together; the results in call order."""
    return await asyncio.gather(
        *(api.execute(query, variables, viewer=viewer) for query, variables, viewer in calls)
    )


async def open_connections() -> int:
    """Connections the app's pool has opened: above 1 only if requests overlapped."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
    )
    return int(rows[0]["n"])


async def board_columns(api, campaign, viewer) -> dict[str, list[dict[str, str]]]:
    """Each column's cards (id, rank) as the board shows them, by stage name."""
    result = await api.execute(BOARD, {"id": gid("Campaign", campaign)}, viewer=viewer)
    stages = result.ok()["campaign"]["stages"]
    return {
        stage["name"]: [edge["node"] for edge in stage["opportunities"]["edges"]]
        for stage in stages
    }


def assert_ranks_distinct_and_ordered(columns: dict[str, list[dict[str, str]]]) -> None:
    for name, cards in columns.items():
        ranks = [card["rank"] for card in cards]
        assert len(set(ranks)) == len(ranks), f"column {name!r} repeats a rank: {ranks}"
        assert ranks == sorted(ranks), f"column {name!r} is not in rank order: {ranks}"


def codes_of(results) -> list[str | None]:
    """None for a success, else the single error code of each result."""
    codes = []
    for result in results:
        assert len(result.errors) <= 1, result.errors
        codes.append(result.codes[0] if result.errors else None)
    return codes


async def make_board(cards_per_stage: int, stages=("New", "Contacted", "Won")):
    manager = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
    campaign = await make_campaign(manager, stages=stages)
    columns = {}
    for stage in await stages_of(campaign):
        columns[stage.name] = (
            stage,
            [
                await make_opportunity(campaign, await make_customer(), stage=stage)
                for _ in range(cards_per_stage)
            ],
        )
    return manager, campaign, columns


# moveOpportunity


async def test_move_with_the_same_expected_version_succeeds_once_when_racing(api):
    # given
    manager, campaign, columns = await make_board(cards_per_stage=5)
    _stage, cards = columns["New"]
    card = cards[0]
    start = card.version
    targets = [
        (target, [other for other in others if other.pk != card.pk])
        for target, others in columns.values()
    ]
    chooser = random.Random(20240501)
    calls = []
    for _ in range(50):
        target, others = chooser.choice(targets)
        after = chooser.choice([None, *others])
        variables = {
            "id": gid("Opportunity", card),
            "stageId": gid("Stage", target),
            "afterId": gid("Opportunity", after) if after else None,
            "expectedVersion": start,
        }
        calls.append((MOVE_OPPORTUNITY, {"input": variables}, manager))
    # when
    codes = codes_of(await at_once(api, calls))
    # then
    assert await open_connections() > 1
    successes = codes.count(None)
    conflicts = codes.count("CONFLICT")
    assert successes + conflicts == 50, codes
    assert successes == 1
    assert (await Opportunity.get(id=card.pk)).version == start + successes
    assert_ranks_distinct_and_ordered(await board_columns(api, campaign, manager))


async def test_move_without_expected_version_loses_no_update_when_racing(api):
    # given
    manager, campaign, columns = await make_board(cards_per_stage=5)
    card = columns["New"][1][0]
    start = card.version
    chooser = random.Random(20240502)
    calls = []
    for _ in range(50):
        target, others = chooser.choice(list(columns.values()))
        after = chooser.choice([None, *(other for other in others if other.pk != card.pk)])
        variables = {
            "id": gid("Opportunity", card),
            "stageId": gid("Stage", target),
            "afterId": gid("Opportunity", after) if after else None,
        }
        calls.append((MOVE_OPPORTUNITY, {"input": variables}, manager))
    # when
    results = await at_once(api, calls)
    # then
    assert await open_connections() > 1
    assert codes_of(results) == [None] * 50
    versions = sorted(result.ok()["moveOpportunity"]["version"] for result in results)
    assert versions == list(range(start + 1, start + 51))
    assert (await Opportunity.get(id=card.pk)).version == start + 50
    assert_ranks_distinct_and_ordered(await board_columns(api, campaign, manager))


UPDATE_OPPORTUNITY = """
mutation Update($input: UpdateOpportunityInput!) { updateOpportunity(input: $input) { id } }
"""


@pytest.mark.parametrize("change", ["moveOpportunity", "updateOpportunity"])
async def test_card_change_is_judged_on_the_card_it_locks_not_on_an_earlier_read(
    api, database_url, change
):
    # given: the owner's change waits for the campaign's lock, held by a reassignment
    owner = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
    other = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
    manager = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
    campaign = await make_campaign(manager, participants=[owner, other])
    stages = await stages_of(campaign)
    card = await make_opportunity(campaign, await make_customer(), owner=owner)
    document, variables = {
        "moveOpportunity": (MOVE_OPPORTUNITY, {"stageId": gid("Stage", stages[1])}),
        "updateOpportunity": (UPDATE_OPPORTUNITY, {"name": "Renamed by its former owner"}),
    }[change]
    reassigning = await asyncpg.connect(database_url)
    try:
        writer = reassigning.transaction()
        await writer.start()
        await reassigning.execute(
            "SELECT id FROM campaign WHERE id = $1 FOR NO KEY UPDATE", campaign.pk
        )
        await reassigning.execute(
            "UPDATE opportunity SET owner_id = $1 WHERE id = $2", other.pk, card.pk
        )
        sent = {"input": {"id": gid("Opportunity", card), **variables}}
        changing = asyncio.create_task(api.execute(document, sent, viewer=owner))
        await _until_a_statement_waits_for_a_lock(reassigning)
        # when: the card is someone else's by the time the change holds the lock
        await writer.commit()
        result = await changing
    finally:
        await reassigning.close()
    # then
    assert result.codes == ["FORBIDDEN"]
    stored = await Opportunity.get(id=card.pk)
    assert (stored.stage_id, stored.name, stored.version) == (
        stages[0].pk,
        card.name,
        card.version,
    )


async def _until_a_statement_waits_for_a_lock(connection: asyncpg.Connection) -> None:
    for _ in range(1000):
        if await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no statement waited for the campaign's lock within 10 s")


async def test_move_of_two_cards_into_one_gap_keeps_both_after_the_target(api):
    # given
    manager, campaign, columns = await make_board(cards_per_stage=5)
    stage, column = columns["New"]
    target = column[1]
    moving = columns["Contacted"][1][:2]
    calls = [
        (
            MOVE_OPPORTUNITY,
            {
                "input": {
                    "id": gid("Opportunity", card),
                    "stageId": gid("Stage", stage),
                    "afterId": gid("Opportunity", target),
                }
            },
            manager,
        )
        for card in moving
    ]
    # when
    results = await at_once(api, calls)
    # then
    assert await open_connections() > 1
    assert codes_of(results) == [None, None]
    board = await board_columns(api, campaign, manager)
    assert_ranks_distinct_and_ordered(board)
    order = [card["id"] for card in board["New"]]
    assert order[:2] == [gid("Opportunity", column[0]), gid("Opportunity", target)]
    assert set(order[2:4]) == {gid("Opportunity", card) for card in moving}
    assert order[4:] == [gid("Opportunity", card) for card in column[2:]]


async def test_move_of_twenty_cards_into_one_gap_gives_distinct_ranks(api):
    # given
    manager, campaign, columns = await make_board(cards_per_stage=20, stages=("New", "Later"))
    stage, column = columns["New"]
    target = column[9]
    moving = columns["Later"][1]
    calls = [
        (
            MOVE_OPPORTUNITY,
            {
                "input": {
                    "id": gid("Opportunity", card),
                    "stageId": gid("Stage", stage),
                    "afterId": gid("Opportunity", target),
                }
            },
            manager,
        )
        for card in moving
    ]
    # when
    results = await at_once(api, calls)
    # then
    assert await open_connections() > 1
    assert codes_of(results) == [None] * 20
    board = await board_columns(api, campaign, manager)
    assert_ranks_distinct_and_ordered(board)
    order = [card["id"] for card in board["New"]]
    assert len(order) == 40
    assert order[:10] == [gid("Opportunity", card) for card in column[:10]]
    assert set(order[10:30]) == {gid("Opportunity", card) for card in moving}
    assert order[30:] == [gid("Opportunity", card) for card in column[10:]]
    assert board["Later"] == []


# claimOpportunity


async def test_claim_by_two_participants_has_one_winner_when_racing(api):
    # given
    manager = await make_user(Permission.OPPORTUNITY_ACCESS)
    first = await make_user(Permission.OPPORTUNITY_ACCESS)
    second = await make_user(Permission.OPPORTUNITY_ACCESS)
    campaign = await make_campaign(manager, participants=[first, second])
    cards = [await make_opportunity(campaign, await make_customer()) for _ in range(10)]
    calls = [
        (CLAIM_OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer)
        for card in cards
        for viewer in (first, second)
    ]
    # when
    results = await at_once(api, calls)
    # then
    assert await open_connections() > 1
    codes = codes_of(results)
    for index, card in enumerate(cards):
        pair = codes[2 * index : 2 * index + 2]
        assert sorted(pair, key=str) == ["CONFLICT", None], pair
        winner = (first, second)[pair.index(None)]
        claimed = results[2 * index + pair.index(None)].ok()["claimOpportunity"]
        assert claimed["owner"] == {"id": gid("User", winner)}
        stored = await Opportunity.get(id=card.pk)
        assert stored.owner_id == winner.pk
        assert stored.version == card.version + 1
    assert_ranks_distinct_and_ordered(await board_columns(api, campaign, manager))


CREATE_OPPORTUNITY = """
mutation Create($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }
"""


async def test_cross_campaign_creations_notifying_each_other_never_deadlock(api):
    # given two sellers taking part in each other's campaigns
    sales = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_CREATE)
    first, second = await make_user(*sales), await make_user(*sales)
    campaign_x = await make_campaign(first, participants=[second])
    campaign_y = await make_campaign(second, participants=[first])
    calls = []
    for _ in range(20):
        for campaign, author in ((campaign_x, first), (campaign_y, second)):
            customer = await make_customer()
            variables = {
                "input": {
                    "campaignId": gid("Campaign", campaign),
                    "customerId": gid("Customer", customer),
                }
            }
            calls.append((CREATE_OPPORTUNITY, variables, author))
    # when each creation (which notifies the other) runs at the same time as the others
    results = await at_once(api, calls)
    # then every one succeeds: no deadlock, no error
    assert [result.codes for result in results] == [[] for _ in calls]
    assert await Opportunity.all().count() == 40
    assert await open_connections() > 1
