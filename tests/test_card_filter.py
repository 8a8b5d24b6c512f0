"""OpportunityFilter on Query.opportunities and Campaign.opportunities: every condition
against a brute-force filter over the rows, paged in small pages, for viewers who see
different campaigns."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from models import Campaign, Customer, Opportunity, OpportunityResult, Permission, Stage, User
from resolvers import card_filter
from resolvers.rotting import rotting_since
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user

ALL_CARDS = """
query All($first: Int, $after: String, $filter: OpportunityFilter) {
  opportunities(first: $first, after: $after, filter: $filter) {
    edges { node { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CAMPAIGN_CARDS = """
query Cards($id: ID!, $first: Int, $after: String, $filter: OpportunityFilter) {
  campaign(id: $id) {
    opportunities(first: $first, after: $after, filter: $filter) {
      edges { node { id } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
# Names to search in: cases differ, and LIKE's own wildcards are plain characters here.
WORDS = ["Acme", "acme corp", "ACME Ltd", "Beta", "50% off", "5_0 deal", "Delta", "beta-x"]
TERMS = ["acme", "CORP", "beta", "%", "_", "0% o", "delta", "zzz", " acme "]
NOW = datetime.now(UTC)


@dataclass
class World:
    viewers: dict[str, User]
    campaigns: list[Campaign]
    stages: list[Stage]
    users: list[User]


async def a_world(seed: int) -> World:
    """Three campaigns (the participant sees two), steps with and without rotting days,
    40 cards with every field spread, some stays without a stored start."""
    chooser = random.Random(seed)
    manager = await make_user(Permission.OPPORTUNITY_ACCESS)
    seller = await make_user(Permission.OPPORTUNITY_ACCESS)
    other = await make_user(Permission.OPPORTUNITY_ACCESS)
    viewers = {
        "manager": manager,
        "seller": seller,
        "view_all": await make_user(Permission.OPPORTUNITY_ACCESS, Permission.VIEW_ALL),
        "no_access": await make_user(),
        "outsider": await make_user(Permission.OPPORTUNITY_ACCESS),
    }
    campaigns = [
        await make_campaign(manager, participants=[seller]),
        await make_campaign(other, participants=[seller]),
        await make_campaign(other),
    ]
    stages = list(await Stage.filter(campaign_id__in=[c.pk for c in campaigns]))
    for stage in stages:
        stage.rotting_days = chooser.choice([None, 0, 2, 5])
        await stage.save(update_fields=["rotting_days"])
    users = [manager, seller, other]
    for number in range(40):
        campaign = campaigns[number % 3]
        customer = await make_customer(name=chooser.choice(WORDS) + f" {number}")
        card = await make_opportunity(
            campaign,
            customer,
            stage=chooser.choice([s for s in stages if s.campaign_id == campaign.pk]),
            owner=chooser.choice([None, *users]),
        )
        card.name = chooser.choice(WORDS)
        card.result = chooser.choice(list(OpportunityResult))
        card.created_at = NOW - timedelta(days=chooser.randrange(0, 10), hours=number)
        card.stage_entered_at = chooser.choice(
            [None, card.created_at + timedelta(hours=chooser.randrange(0, 200))]
        )
        card.expected_close_at = chooser.choice(
            [None, NOW + timedelta(days=chooser.randrange(-5, 5))]
        )
        await card.save()
    return World(viewers, campaigns, stages, users)


async def visible_campaigns(world: World, viewer: str) -> set[int]:
    """What each viewer sees; VIEW_ALL sees earlier examples' campaigns too."""
    manager_campaign, seller_other, _ = (c.pk for c in world.campaigns)
    return {
        "manager": {manager_campaign},
        "seller": {manager_campaign, seller_other},
        "view_all": set(await Campaign.all().values_list("id", flat=True)),
        "no_access": set(),
        "outsider": set(),
    }[viewer]


@dataclass
class Rows:
    """Every card as stored, with its step's rotting days and its customer's name."""

    cards: list[Opportunity]
    rotting_days: dict[int, int | None]
    customer_names: dict[int, str]


async def stored() -> Rows:
    return Rows(
        list(await Opportunity.all()),
        dict(await Stage.all().values_list("id", "rotting_days")),
        dict(await Customer.all().values_list("id", "name")),
    )


def matches(rows: Rows, card: Opportunity, given: dict[str, Any]) -> bool:
    """The filter's meaning, one card at a time."""
    rotting_days = rows.rotting_days[card.stage_id]
    term = (given.get("search") or "").strip().lower()
    names = (card.name.lower(), rows.customer_names[card.customer_id].lower())
    checks = [
        ("campaignIds", lambda pks: card.campaign_id in pks),
        ("stageIds", lambda pks: card.stage_id in pks),
        ("ownerIds", lambda pks: card.owner_id in pks),
        ("unowned", lambda flag: (card.owner_id is None) == flag),
        ("results", lambda results: card.result.value in results),
        (
            "rotting",
            lambda flag: (rotting_since(card, rotting_days, NOW) is not None) == flag,
        ),
        ("search", lambda _: not term or any(term in name for name in names)),
        ("createdAfter", lambda moment: card.created_at > moment),
        ("createdBefore", lambda moment: card.created_at < moment),
        (
            "expectedCloseBefore",
            lambda moment: card.expected_close_at is not None and card.expected_close_at < moment,
        ),
    ]
    return all(given[key] is None or check(given[key]) for key, check in checks)


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any]:
    """Conditions by index (campaign 0..2, stage 0..8, user 0..2) and offsets from now."""

    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(st.one_of(st.none(), strategy))

    indexes = st.lists(st.integers(0, 8), max_size=3)
    return {
        "campaignIds": maybe(st.lists(st.integers(0, 2), max_size=2)),
        "stageIds": maybe(indexes),
        "ownerIds": maybe(st.lists(st.integers(0, 2), max_size=2)),
        "unowned": maybe(st.booleans()),
        "results": maybe(st.lists(st.sampled_from(["OPEN", "WON", "LOST"]), max_size=2)),
        "rotting": maybe(st.booleans()),
        "search": maybe(st.sampled_from(TERMS)),
        "createdAfter": maybe(st.integers(-10, 0)),
        "createdBefore": maybe(st.integers(-10, 0)),
        "expectedCloseBefore": maybe(st.integers(-5, 5)),
    }


def concrete(world: World, drawn: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the GraphQL filter, the oracle's filter) for one drawn filter."""
    stages = sorted(world.stages, key=lambda s: s.pk)
    pks: dict[str, Any] = dict(drawn)
    variables: dict[str, Any] = dict(drawn)
    for key, rows, type_name in (
        ("campaignIds", world.campaigns, "Campaign"),
        ("stageIds", stages, "Stage"),
        ("ownerIds", world.users, "User"),
    ):
        if drawn[key] is not None:
            pks[key] = {rows[i].pk for i in drawn[key]}
            variables[key] = [gid(type_name, rows[i]) for i in drawn[key]]
    for key in ("createdAfter", "createdBefore", "expectedCloseBefore"):
        if drawn[key] is not None:
            # Half-days apart from the cards' whole days and hours: never on a boundary.
            moment = NOW + timedelta(days=drawn[key], minutes=30)
            pks[key] = moment
            variables[key] = moment.isoformat()
    return {k: v for k, v in variables.items() if v is not None}, pks


async def every_page(api, viewer: User, query: str, variables: dict[str, Any], path: str) -> list:
    """Every id of the list, following endCursor 9 at a time."""
    ids: list[str] = []
    after = None
    for _ in range(200):
        result = await api.execute(query, {**variables, "first": 9, "after": after}, viewer=viewer)
        data = result.ok()
        for key in path.split("."):
            data = data[key]
        ids += [edge["node"]["id"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return ids
        after = data["pageInfo"]["endCursor"]
    raise AssertionError("more than 200 pages")


@examples(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**16),
    drawn=st.lists(filters(), min_size=8, max_size=8),
    few_matches=st.sampled_from([0, card_filter.FEW_MATCHES]),
)
async def test_a_filter_gives_exactly_the_visible_cards_that_meet_every_condition(
    api, monkeypatch, seed, drawn, few_matches
):
    # given three campaigns of cards, and viewers who see none, one, two or all of them;
    # a search takes PostgreSQL's path for a rare term or for a common one (0: any match
    # counts as common)
    monkeypatch.setattr(card_filter, "FEW_MATCHES", few_matches)
    world = await a_world(seed)
    rows = await stored()  # the oracle reads what the database holds
    newest_first = sorted(rows.cards, key=lambda card: (card.created_at, card.pk), reverse=True)
    for number, one in enumerate(drawn):
        variables, oracle = concrete(world, one)
        viewer = list(world.viewers)[number % len(world.viewers)]
        # when the viewer pages through every campaign's cards with the filter
        listed = await every_page(
            api, world.viewers[viewer], ALL_CARDS, {"filter": variables}, "opportunities"
        )
        # then exactly the visible matching cards came, each once, newest first
        seen = await visible_campaigns(world, viewer)
        expected = [
            gid("Opportunity", card)
            for card in newest_first
            if card.campaign_id in seen and matches(rows, card, oracle)
        ]
        assert listed == expected, (viewer, variables)
        # and within the first campaign, when visible, the same filter gives its part of
        # them, in board-list order (by id)
        first = world.campaigns[0]
        if first.pk in seen:
            in_campaign = await every_page(
                api,
                world.viewers[viewer],
                CAMPAIGN_CARDS,
                {"filter": variables, "id": gid("Campaign", first)},
                "campaign.opportunities",
            )
            assert in_campaign == [
                gid("Opportunity", card)
                for card in sorted(rows.cards, key=lambda card: card.pk)
                if card.campaign_id == first.pk and matches(rows, card, oracle)
            ], (viewer, variables)


async def test_an_id_of_another_type_in_a_filter_is_bad_user_input(api):
    viewer = await make_user(Permission.OPPORTUNITY_ACCESS)
    result = await api.execute(
        ALL_CARDS, {"filter": {"stageIds": [gid("User", viewer)]}}, viewer=viewer
    )
    assert result.codes == ["BAD_USER_INPUT"]
    assert "filter.stageIds" in result.errors[0]["message"]


async def test_a_filter_naming_a_hidden_campaign_shows_nothing_of_it(api):
    # given a campaign the viewer does not take part in, with a card
    owner = await make_user(Permission.OPPORTUNITY_ACCESS)
    viewer = await make_user(Permission.OPPORTUNITY_ACCESS)
    hidden = await make_campaign(owner)
    await make_opportunity(hidden, await make_customer())
    # when the viewer filters by it
    result = await api.execute(
        ALL_CARDS, {"filter": {"campaignIds": [gid("Campaign", hidden)]}}, viewer=viewer
    )
    # then the answer is empty, as for a campaign that does not exist
    assert result.ok()["opportunities"]["edges"] == []


@pytest.mark.postgres_only
async def test_search_ignores_the_case_of_vietnamese_letters(api):
    # given a card whose customer is "Nguyễn Văn Đức"
    viewer = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.VIEW_ALL)
    campaign = await make_campaign(viewer)
    card = await make_opportunity(campaign, await make_customer(name="Nguyễn Văn Đức"))
    await make_opportunity(campaign, await make_customer(name="Trần Thị Mai"))
    # when someone searches in lower case
    result = await api.execute(ALL_CARDS, {"filter": {"search": "văn đức"}}, viewer=viewer)
    # then it is found, and only it
    edges = result.ok()["opportunities"]["edges"]
    assert [edge["node"]["id"] for edge in edges] == [gid("Opportunity", card)]
