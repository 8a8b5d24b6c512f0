"""A board's cards read with only the columns their selection needs: the same answer as
each card read alone, whatever the selection, and fewer columns when it allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models import Opportunity, Permission
from tests.card_helpers import CARD_SCALARS, varied_cards
from tests.factories import gid, make_campaign, make_user
from tests.test_board_queries import sql_statements

# Fields a card's page may read from a few columns, and fields that read its whole row.
NARROW = [
    *CARD_SCALARS,
    "updatedAt",
    "expectedCloseAt",
    "owner { name }",
    "customer { name }",
    "__typename",
]
WIDE = ["stage { name }", "campaign { name }", "stageEnteredAt", "createdBy { name }"]

SELECTION = st.lists(st.sampled_from(NARROW + WIDE), min_size=1, max_size=6, unique=True)
# How the selected fields are written: inline, aliased, in a named or an inline fragment,
# or under @include with a variable.
SHAPE = st.sampled_from(["plain", "alias", "fragment", "inline", "include"])


def _documents(fields: list[str], shape: str) -> tuple[str, str]:
    """The board query and the single-card query for the same selection of a card."""
    fragment = ""
    variable = ", $all: Boolean = true" if shape == "include" else ""
    if shape == "alias":
        selected = " ".join(f"a{n}: {field}" for n, field in enumerate(fields))
    elif shape == "fragment":
        selected = "...Card"
        fragment = f"fragment Card on Opportunity {{ {' '.join(fields)} }}"
    elif shape == "inline":
        selected = f"... on Opportunity {{ {' '.join(fields)} }}"
    elif shape == "include":
        selected = f"id ... @include(if: $all) {{ {' '.join(fields)} }}"
    else:
        selected = " ".join(fields)
    board = (
        f"query Board($id: ID!{variable}) {{ campaign(id: $id) {{ stages {{ "
        "opportunities(first: 50) { "
        f"edges {{ cursor node {{ {selected} }} }} pageInfo {{ endCursor }} }} }} }} }} {fragment}"
    )
    alone = (
        f"query Card($id: ID!{variable}) "
        f"{{ node(id: $id) {{ ... on Opportunity {{ {selected} }} }} }} "
    )
    return board, alone + fragment


async def _varied_campaign(manager):
    """Cards that differ in every field a board may show: amounts, owners, results, dates."""
    owner = await make_user(Permission.OPPORTUNITY_ACCESS, name="Owner")
    campaign = await make_campaign(manager, participants=[owner], stages=["New", "Won"])
    cards = await varied_cards(campaign, owner, manager, count=6, seed=5, close_every=3)
    for days, card in enumerate(cards[::2], start=1):
        expected = datetime.now(UTC) + timedelta(days=days)
        await Opportunity.filter(id=card.pk).update(expected_close_at=expected, version=days)
    return campaign


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=SELECTION, shape=SHAPE)
@example(fields=["id", "name", "rank", "probability", "amount"], shape="fragment")
@example(fields=["owner { name }", "customer { name }", "stage { name }"], shape="alias")
@example(fields=["name", "amount"], shape="include")
async def test_a_board_card_equals_the_card_read_alone(api, fields, shape):
    # given
    manager = await make_user(*Permission)
    campaign = await _varied_campaign(manager)
    board_query, card_query = _documents(fields, shape)
    # when
    board = await api.execute(board_query, {"id": gid("Campaign", campaign)}, viewer=manager)
    # then
    nodes = [
        edge["node"]
        for stage in board.ok()["campaign"]["stages"]
        for edge in stage["opportunities"]["edges"]
    ]
    assert len(nodes) == 6
    cards = await Opportunity.filter(campaign_id=campaign.pk)
    alone = [
        (await api.execute(card_query, {"id": gid("Opportunity", card)}, viewer=manager)).ok()
        for card in cards
    ]
    assert sorted(map(repr, nodes)) == sorted(repr(answer["node"]) for answer in alone)


async def test_a_plain_selection_reads_fewer_columns_and_a_resolved_one_all(api):
    # given
    manager = await make_user(*Permission)
    campaign = await _varied_campaign(manager)
    plain, _ = _documents(["id", "name", "amount", "owner { name }"], "plain")
    resolved, _ = _documents(["id", "name", "stage { name }"], "plain")
    variables = {"id": gid("Campaign", campaign)}
    # when
    with sql_statements() as plain_sql:
        (await api.execute(plain, variables, viewer=manager)).ok()
    with sql_statements() as resolved_sql:
        (await api.execute(resolved, variables, viewer=manager)).ok()
    # then: the page statement names its card columns, or reads them all
    plain_pages = [sql for sql in plain_sql if "FROM opportunity o" in sql]
    resolved_pages = [sql for sql in resolved_sql if "FROM opportunity o" in sql]
    assert len(plain_pages) == 1 and len(resolved_pages) == 1
    assert "o.*" not in plain_pages[0] and '"amount"' in plain_pages[0]
    assert '"closed_at"' not in plain_pages[0]
    assert "o.*" in resolved_pages[0]
