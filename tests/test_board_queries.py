"""The Kanban board read: constant SQL cost, rank order, and paging through a column."""

from __future__ import annotations

import gc
import json
import logging
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import pytest

from models import Campaign, Customer, Opportunity, Permission, User
from models.ranking import keys_after
from resolvers.ids import encode_id
from resolvers.viewers import forget_viewers
from tests.factories import gid, make_campaign, make_user, stages_of

BOARD = """
query Board($id: ID!) {
  campaign(id: $id) {
    stages {
      name
      opportunities(first: 200) {
        totalCount
        edges { node { id name rank owner { name } customer { name } } }
      }
    }
  }
}
"""
COLUMN_PAGE = """
query ColumnPage($id: ID!, $first: Int!, $after: String) {
  campaign(id: $id) {
    stages {
      opportunities(first: $first, after: $after) {
        totalCount
        edges { cursor node { id rank } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
      }
    }
  }
}
"""

# Tortoise logs every statement it sends, on every backend, at DEBUG on this logger.
SQL_LOGGER = "tortoise.db_client"
_counting: ContextVar[bool] = ContextVar("counting_sql", default=False)


class _StatementLog(logging.Handler):
    """Keeps the statements logged by the tasks of one request (not background work)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if _counting.get():
            self.statements.append(record.getMessage())


@contextmanager
def sql_statements() -> Iterator[list[str]]:
    """The SQL sent inside the block by this task and the tasks it starts."""
    logger = logging.getLogger(SQL_LOGGER)
    handler = _StatementLog()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    token = _counting.set(True)
    try:
        yield handler.statements
    finally:
        _counting.reset(token)
        logger.removeHandler(handler)
        logger.setLevel(level)


async def make_bulk_campaign(
    manager: User,
    cards_per_stage: Sequence[int],
    owners: Sequence[User] = (),
    seed: int = 1,
) -> Campaign:
    """A campaign whose columns hold that many cards, ranked in an order unlike their ids."""
    names = [f"Step {number}" for number in range(len(cards_per_stage))]
    campaign = await make_campaign(manager, participants=owners, stages=names)
    prefix = f"Bulk {campaign.pk} "
    await Customer.bulk_create(
        [Customer(name=f"{prefix}{number:05d}") for number in range(sum(cards_per_stage))]
    )
    customers = iter(await Customer.filter(name__startswith=prefix).order_by("id"))
    chooser = random.Random(seed)
    cards = []
    for stage, count in zip(await stages_of(campaign), cards_per_stage, strict=True):
        ranks = keys_after(None, count)
        chooser.shuffle(ranks)
        for number, rank in enumerate(ranks):
            customer = next(customers)
            owner = owners[number % len(owners)] if owners and number % 4 else None
            cards.append(
                Opportunity(
                    campaign_id=campaign.pk,
                    customer_id=customer.pk,
                    stage_id=stage.pk,
                    owner_id=owner.pk if owner else None,
                    name=customer.name,
                    rank=rank,
                )
            )
    await Opportunity.bulk_create(cards, batch_size=500)
    return campaign


async def board_order(campaign: Campaign) -> dict[str, list[str]]:
    """Each column's card IDs sorted by rank as bytes (then id), by stage name."""
    order = {}
    for stage in await stages_of(campaign):
        rows = await Opportunity.filter(stage_id=stage.pk).values_list("id", "rank")
        rows.sort(key=lambda row: (row[1].encode(), row[0]))
        order[stage.name] = [encode_id("Opportunity", pk) for pk, _rank in rows]
    return order


async def test_board_query_count_is_the_same_for_10_and_1000_cards(api):
    # given
    manager = await make_user(Permission.OPPORTUNITY_ACCESS)
    owners = [await make_user(Permission.OPPORTUNITY_ACCESS) for _ in range(5)]
    small = await make_bulk_campaign(manager, [4, 3, 3], owners)
    large = await make_bulk_campaign(manager, [400, 350, 250], owners)
    # when (each request reads its viewer: rows kept between requests are not what counts)
    forget_viewers()
    with sql_statements() as small_statements:
        small_board = await api.execute(BOARD, {"id": gid("Campaign", small)}, viewer=manager)
    forget_viewers()
    with sql_statements() as large_statements:
        large_board = await api.execute(BOARD, {"id": gid("Campaign", large)}, viewer=manager)
    # then
    small_columns = small_board.ok()["campaign"]["stages"]
    large_columns = large_board.ok()["campaign"]["stages"]
    assert [column["opportunities"]["totalCount"] for column in small_columns] == [4, 3, 3]
    assert [column["opportunities"]["totalCount"] for column in large_columns] == [400, 350, 250]
    assert [len(column["opportunities"]["edges"]) for column in large_columns] == [200, 200, 200]
    assert small_statements
    assert len(large_statements) == len(small_statements), "\n".join(large_statements)


@pytest.mark.parametrize("method", ["POST", "GET"])  # the direct path and Strawberry's view
async def test_a_board_frees_its_rows_once_answered_without_waiting_for_a_collection(api, method):
    # given: a board, and the collector off, as between two of its runs
    manager = await make_user(Permission.OPPORTUNITY_ACCESS)
    owners = [await make_user(Permission.OPPORTUNITY_ACCESS) for _ in range(3)]
    campaign = await make_bulk_campaign(manager, [150, 100], owners)
    variables = {"id": gid("Campaign", campaign)}
    gc.collect()
    gc.disable()
    try:
        before = _alive(Opportunity)
        # when
        if method == "POST":
            board = (await api.execute(BOARD, variables, viewer=manager)).ok()
        else:
            response = await api.http.get(
                "/graphql",
                params={"query": BOARD, "variables": json.dumps(variables)},
                headers={"Authorization": f"Bearer {api.token_for(manager)}"},
            )
            board = response.json()["data"]
        # then: its 250 cards were read, and not one of them outlives the answer
        assert sum(len(c["opportunities"]["edges"]) for c in board["campaign"]["stages"]) == 250
        assert _alive(Opportunity) - before == 0
    finally:
        gc.enable()


def _alive(model: type[object]) -> int:
    """Instances of `model` the collector tracks, garbage in cycles included."""
    return sum(1 for thing in gc.get_objects() if type(thing) is model)


async def test_board_lists_each_column_in_rank_order(api):
    # given
    manager = await make_user(Permission.OPPORTUNITY_ACCESS)
    owner = await make_user(Permission.OPPORTUNITY_ACCESS, name="Lan")
    campaign = await make_bulk_campaign(manager, [60, 0, 45], [owner], seed=7)
    expected = await board_order(campaign)
    # when
    result = await api.execute(BOARD, {"id": gid("Campaign", campaign)}, viewer=manager)
    # then
    columns = result.ok()["campaign"]["stages"]
    assert [column["name"] for column in columns] == ["Step 0", "Step 1", "Step 2"]
    for column in columns:
        nodes = [edge["node"] for edge in column["opportunities"]["edges"]]
        assert [node["id"] for node in nodes] == expected[column["name"]]
        ranks = [node["rank"].encode() for node in nodes]
        assert ranks == sorted(ranks)
        assert {node["owner"]["name"] for node in nodes if node["owner"]} <= {"Lan"}
        assert all(node["customer"]["name"] == node["name"] for node in nodes)


@pytest.mark.parametrize("page_size", [50, 125, 200])
async def test_column_pages_with_after_without_repeats_or_gaps(api, page_size):
    # given
    manager = await make_user(Permission.OPPORTUNITY_ACCESS)
    campaign = await make_bulk_campaign(manager, [250], seed=page_size)
    expected = (await board_order(campaign))["Step 0"]
    seen: list[str] = []
    pages = []
    after = None
    # when
    while True:
        variables = {"id": gid("Campaign", campaign), "first": page_size, "after": after}
        result = await api.execute(COLUMN_PAGE, variables, viewer=manager)
        page = result.ok()["campaign"]["stages"][0]["opportunities"]
        pages.append(page)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert len(pages) <= 250 // page_size, "paging does not end"
    # then
    assert seen == expected
    assert len(set(seen)) == 250
    assert [len(page["edges"]) for page in pages[:-1]] == [page_size] * (len(pages) - 1)
    assert all(page["totalCount"] == 250 for page in pages)
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False] + [True] * (
        len(pages) - 1
    )
    assert all(page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"] for page in pages)
