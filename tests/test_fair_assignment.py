"""Campaign.members, updateCampaignMember and automatic assignment by weight, capacity and
availability; every assignment path logs OpportunityAssigned with its reason."""

from __future__ import annotations

import asyncio
from collections import Counter
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from models import (
    AssignmentReason,
    CampaignEvent,
    EventKind,
    Notification,
    NotificationKind,
    Opportunity,
    OpportunityResult,
    User,
)
from server.auth import JwtTokens
from tests.card_helpers import SALES
from tests.conftest import TEST_SECRET
from tests.factories import gid, make_campaign, make_customer, make_user
from tests.live import post, serving

CREATE = """
mutation Create($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id owner { id } } }
"""
UPDATE_MEMBER = """
mutation Member($i: UpdateCampaignMemberInput!) {
  updateCampaignMember(input: $i) { user { id } weight capacity available openCount }
}
"""
MEMBERS = """
query Members($id: ID!) {
  campaign(id: $id) {
    members { user { name } isManager inRotation weight capacity available openCount }
  }
}
"""
CLOSE = "mutation Lost($i: MarkOpportunityLostInput!) { markOpportunityLost(input: $i) { id } }"


async def a_rotation(count: int) -> tuple[User, list[User], Any]:
    """A manager and `count` participants, all in the rotation, with automatic assignment."""
    manager = await make_user(*SALES, name="Manager")
    sellers = [await make_user(*SALES, name=f"Seller {n}") for n in range(count)]
    campaign = await make_campaign(manager, participants=sellers, auto_assign=True)
    return manager, sellers, campaign


async def set_member(api, manager: User, campaign, seller: User, **settings: Any):
    variables = {
        "i": {"campaignId": gid("Campaign", campaign), "userId": gid("User", seller), **settings}
    }
    return await api.execute(UPDATE_MEMBER, variables, viewer=manager)


async def create(api, manager: User, campaign, owner: str = "NOBODY", **extra: Any) -> str | None:
    """A new card; its owner's ID (None: unowned)."""
    customer = await make_customer()
    variables = {
        "i": {
            "campaignId": gid("Campaign", campaign),
            "customerId": gid("Customer", customer),
            "owner": owner,
            **extra,
        }
    }
    card = (await api.execute(CREATE, variables, viewer=manager)).ok()["createOpportunity"]
    return card["owner"]["id"] if card["owner"] else None


async def test_weights_two_to_one_split_three_hundred_cards_two_hundred_to_one_hundred(api):
    manager, (heavy, light), campaign = await a_rotation(2)
    (await set_member(api, manager, campaign, heavy, weight=2)).ok()
    owners = Counter([await create(api, manager, campaign) for _ in range(300)])
    assert abs(owners[gid("User", heavy)] - 200) <= 1, owners
    assert abs(owners[gid("User", light)] - 100) <= 1, owners
    reasons = await CampaignEvent.filter(
        campaign_id=campaign.pk, kind=EventKind.OPPORTUNITY_ASSIGNED
    ).values_list("data", flat=True)
    assert [data["reason"] for data in reasons] == [AssignmentReason.ROUND_ROBIN.value] * 300


async def test_nobody_free_leaves_the_card_claimable_and_tells_the_manager(api):
    # given two sellers: one away, one with room for one card
    manager, (away, busy), campaign = await a_rotation(2)
    (await set_member(api, manager, campaign, away, available=False)).ok()
    (await set_member(api, manager, campaign, busy, capacity=1)).ok()
    # when three cards come in
    owners = [await create(api, manager, campaign) for _ in range(3)]
    # then the free seller got one, the other two wait unowned, and the manager was told twice
    assert owners == [gid("User", busy), None, None]
    told = await Notification.filter(
        recipient_id=manager.pk, kind=NotificationKind.NO_ASSIGNEE_AVAILABLE
    ).count()
    assert told == 2
    unowned = await Opportunity.filter(campaign_id=campaign.pk, owner_id__isnull=True).count()
    assert unowned == 2


class _Model:
    """The rule, by brute force: each member's open cards, weight, capacity, availability."""

    def __init__(self, count: int) -> None:
        self.open = [0] * count
        self.weight = [1] * count
        self.capacity: list[int | None] = [None] * count
        self.available = [True] * count

    def next(self) -> int | None:
        eligible = [
            n
            for n in range(len(self.open))
            if self.available[n] and (self.capacity[n] is None or self.open[n] < self.capacity[n])
        ]
        if not eligible:
            return None
        best = min(Fraction(self.open[n], self.weight[n]) for n in eligible)
        return next(n for n in eligible if Fraction(self.open[n], self.weight[n]) == best)


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 2)),
        st.tuples(st.just("close"), st.integers(0, 2)),
        st.tuples(st.just("weight"), st.integers(0, 2), st.integers(1, 4)),
        st.tuples(st.just("capacity"), st.integers(0, 2), st.one_of(st.none(), st.integers(0, 3))),
        st.tuples(st.just("available"), st.integers(0, 2), st.booleans()),
    ),
    min_size=5,
    max_size=25,
)


@examples(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_each_new_card_goes_where_the_rule_says(api, steps):
    # given three sellers in the rotation, and the rule as a brute-force model
    manager, sellers, campaign = await a_rotation(3)
    model = _Model(3)
    ids = [gid("User", seller) for seller in sellers]
    for step in steps:
        kind, who = step[0], step[1]
        if kind == "create":
            # then every new card goes to the member the model names (None: nobody)
            expected = model.next()
            owner = await create(api, manager, campaign)
            assert owner == (None if expected is None else ids[expected]), (step, model.open)
            if expected is not None:
                model.open[expected] += 1
        elif kind == "close":
            card = await Opportunity.filter(
                campaign_id=campaign.pk, owner_id=sellers[who].pk, result=OpportunityResult.OPEN
            ).first()
            if card is not None:
                variables = {"i": {"id": gid("Opportunity", card), "reason": "Gone"}}
                (await api.execute(CLOSE, variables, viewer=manager)).ok()
                model.open[who] -= 1
        else:
            value = step[2]
            (await set_member(api, manager, campaign, sellers[who], **{kind: value})).ok()
            getattr(model, kind)[who] = value
    # and no member ever holds more open cards than their capacity allows
    for n, seller in enumerate(sellers):
        assert (
            await Opportunity.filter(
                campaign_id=campaign.pk, owner_id=seller.pk, result=OpportunityResult.OPEN
            ).count()
            == model.open[n]
        )


async def test_members_lists_the_manager_first_then_participants_by_name(api):
    manager = await make_user(*SALES, name="Zoe Manager")
    bao, an = await make_user(*SALES, name="Bao"), await make_user(*SALES, name="An")
    campaign = await make_campaign(manager, participants=[bao, an], auto_assign=True)
    (await set_member(api, manager, campaign, bao, weight=3, capacity=7)).ok()
    await create(api, manager, campaign)  # to An: fewest per weight, first in rotation
    result = await api.execute(MEMBERS, {"id": gid("Campaign", campaign)}, viewer=an)
    members = result.ok()["campaign"]["members"]
    assert members == [
        {"user": {"name": "Zoe Manager"}, "isManager": True, "inRotation": False, "weight": 1,
         "capacity": None, "available": True, "openCount": 0},
        {"user": {"name": "An"}, "isManager": False, "inRotation": True, "weight": 1,
         "capacity": None, "available": True, "openCount": 0},
        {"user": {"name": "Bao"}, "isManager": False, "inRotation": True, "weight": 3,
         "capacity": 7, "available": True, "openCount": 1},
    ]  # fmt: skip


async def test_member_settings_are_checked_and_only_availability_is_a_members_own(api):
    manager, (seller, other), campaign = await a_rotation(2)
    # a member sets their own availability, but not their weight nor someone else's
    own = await set_member(api, seller, campaign, seller, available=False)
    assert own.ok()["updateCampaignMember"]["available"] is False
    assert (await set_member(api, seller, campaign, seller, weight=5)).codes == ["FORBIDDEN"]
    assert (await set_member(api, seller, campaign, other, available=False)).codes == ["FORBIDDEN"]
    # out-of-range values and non-participants are bad input
    for settings in ({"weight": 0}, {"weight": 101}, {"capacity": -1}):
        assert (await set_member(api, manager, campaign, seller, **settings)).codes == [
            "BAD_USER_INPUT"
        ]
    outsider = await make_user(*SALES)
    assert (await set_member(api, manager, campaign, outsider, weight=2)).codes == [
        "BAD_USER_INPUT"
    ]
    # a capacity of null clears it
    (await set_member(api, manager, campaign, seller, capacity=4)).ok()
    cleared = await set_member(api, manager, campaign, seller, capacity=None)
    assert cleared.ok()["updateCampaignMember"]["capacity"] is None


ASSIGN = "mutation A($i: AssignOpportunityInput!) { assignOpportunity(input: $i) { id } }"
CLAIM = "mutation C($id: ID!) { claimOpportunity(id: $id) { id } }"
UPDATE_CAMPAIGN = "mutation U($i: UpdateCampaignInput!) { updateCampaign(input: $i) { id } }"


async def test_every_assignment_path_logs_its_reason(api):
    # given a campaign without automatic assignment first
    manager = await make_user(*SALES, name="Manager")
    seller, other = await make_user(*SALES), await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller, other])
    campaign_id = gid("Campaign", campaign)
    # creator takes it, creator chooses someone, nobody (then claimed), manager assigns
    await create(api, manager, campaign, owner="SELF")
    await create(api, manager, campaign, owner="USER", ownerId=gid("User", seller))
    await create(api, manager, campaign, owner="NOBODY")
    unowned = await Opportunity.filter(campaign_id=campaign.pk, owner_id__isnull=True).first()
    assert unowned is not None
    (await api.execute(CLAIM, {"id": gid("Opportunity", unowned)}, viewer=other)).ok()
    assign = {"i": {"id": gid("Opportunity", unowned), "ownerId": gid("User", seller)}}
    (await api.execute(ASSIGN, assign, viewer=manager)).ok()
    # then with automatic assignment on, the seller leaves: their cards are handed over
    on = {"i": {"id": campaign_id, "autoAssign": True, "rotationUserIds": [gid("User", other)]}}
    (await api.execute(UPDATE_CAMPAIGN, on, viewer=manager)).ok()
    leave = {"i": {"id": campaign_id, "participantIds": [gid("User", other)]}}
    (await api.execute(UPDATE_CAMPAIGN, leave, viewer=manager)).ok()
    events = await CampaignEvent.filter(
        campaign_id=campaign.pk, kind=EventKind.OPPORTUNITY_ASSIGNED
    ).order_by("seq")
    assert [event.data["reason"] for event in events] == [
        "CREATOR",
        "CHOSEN",
        "CLAIMED",
        "MANAGER",
        "HANDOVER",
        "HANDOVER",
    ]


@pytest.mark.postgres_only
async def test_concurrent_creations_on_two_processes_never_pass_a_capacity(
    api, database_url, tmp_path
):
    # given two sellers with room for three cards each, and two served processes
    manager, sellers, campaign = await a_rotation(2)
    for seller in sellers:
        (await set_member(api, manager, campaign, seller, capacity=3)).ok()
    customers = [gid("Customer", await make_customer()) for _ in range(12)]
    token = JwtTokens(TEST_SECRET, 3600).issue(manager).token
    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    with (
        serving(tmp_path / "one", **env) as first,
        serving(tmp_path / "two", **env) as second,
    ):
        # when twelve cards are created at once, half on each process
        bodies = await asyncio.gather(
            *(
                post(
                    (first, second)[n % 2],
                    CREATE,
                    {"i": {"campaignId": gid("Campaign", campaign), "customerId": customer,
                           "owner": "NOBODY"}},
                    token,
                )
                for n, customer in enumerate(customers)
            )
        )  # fmt: skip
    # then all were created, each seller got exactly three, and six wait unowned
    assert all(not body.get("errors") for body in bodies), bodies
    owners = Counter(
        await Opportunity.filter(campaign_id=campaign.pk).values_list("owner_id", flat=True)
    )
    assert owners == {sellers[0].pk: 3, sellers[1].pk: 3, None: 6}
