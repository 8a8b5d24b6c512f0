"""Who owns a card: the owner choice, automatic assignment, hand-over, claims and assigning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models import Opportunity, OpportunityResult, Permission
from tests.card_helpers import SALES, close, set_rotation
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)

CREATE_OPPORTUNITY = """
mutation CreateOpportunity($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) {
    id registrationDeadline
    owner { id }
    customer { owner { id } }
  }
}
"""
CLAIM_OPPORTUNITY = """
mutation ClaimOpportunity($id: ID!) {
  claimOpportunity(id: $id) { id registrationDeadline owner { id } }
}
"""
ASSIGN_OPPORTUNITY = """
mutation AssignOpportunity($input: AssignOpportunityInput!) {
  assignOpportunity(input: $input) { id owner { id } }
}
"""
UPDATE_CAMPAIGN_PARTICIPANTS = """
mutation UpdateCampaign($input: UpdateCampaignInput!) {
  updateCampaign(input: $input) { id participants { id } }
}
"""
OPPORTUNITY_DEADLINE = """
query Opportunity($id: ID!) {
  opportunity(id: $id) { id registrationDeadline owner { id } }
}
"""


async def create(api, viewer, campaign, customer=None, **values):
    """createOpportunity for a (fresh) customer in the campaign, with extra input fields."""
    customer = customer or await make_customer()
    variables = {
        "input": {
            "campaignId": gid("Campaign", campaign),
            "customerId": gid("Customer", customer),
            **values,
        }
    }
    return await api.execute(CREATE_OPPORTUNITY, variables, viewer=viewer)


async def owner_pk(card) -> int | None:
    return (await Opportunity.get(id=card.pk)).owner_id


def user_ref(user) -> dict[str, str]:
    return {"id": gid("User", user)}


# The owner choice


async def test_create_opportunity_with_owner_user_is_owned_by_the_manager_or_a_participant(api):
    # given
    manager = await make_user(*SALES)
    participant = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[participant])
    # when
    to_manager = await create(
        api, participant, campaign, owner="USER", ownerId=gid("User", manager)
    )
    to_participant = await create(
        api, manager, campaign, owner="USER", ownerId=gid("User", participant)
    )
    # then
    assert to_manager.ok()["createOpportunity"]["owner"] == user_ref(manager)
    assert to_participant.ok()["createOpportunity"]["owner"] == user_ref(participant)


async def test_create_opportunity_is_refused_when_owner_user_is_outside_the_campaign(api):
    # given
    manager = await make_user(*SALES)
    outsider = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[await make_user()])
    # when
    result = await create(api, manager, campaign, owner="USER", ownerId=gid("User", outsider))
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "ownerId" in result.errors[0]["message"]
    assert await Opportunity.all().count() == 0


async def test_create_opportunity_is_refused_when_owner_user_has_no_owner_id(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    # when
    result = await create(api, manager, campaign, owner="USER")
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "ownerId" in result.errors[0]["message"]
    assert await Opportunity.all().count() == 0


async def test_create_opportunity_owner_is_independent_of_the_customer_owner(api):
    # given a customer owned by one seller
    manager = await make_user(*SALES)
    seller, colleague = await make_user(*SALES), await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller, colleague])
    customer = await make_customer(owner=seller)
    # when another member gets the card
    result = await create(
        api, manager, campaign, customer, owner="USER", ownerId=gid("User", colleague)
    )
    # then each keeps its own owner
    card = result.ok()["createOpportunity"]
    assert card["owner"] == user_ref(colleague)
    assert card["customer"]["owner"] == user_ref(seller)


async def test_create_opportunity_with_owner_nobody_waits_unowned_without_auto_assign(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[await make_user(*SALES)])
    # when
    result = await create(api, manager, campaign, owner="NOBODY")
    # then
    assert result.ok()["createOpportunity"]["owner"] is None


# Automatic assignment: even round robin over the rotation


async def test_auto_assign_deals_cards_evenly_in_rotation_order(api):
    # given a rotation whose order differs from the participants' order
    manager = await make_user(*SALES)
    a, b, c = [await make_user(*SALES) for _ in range(3)]
    campaign = await make_campaign(manager, participants=[a, b, c], auto_assign=True)
    await set_rotation(campaign, [c, a, b])
    # when five customers are added unowned
    owners = [
        (await create(api, manager, campaign, owner="NOBODY")).ok()["createOpportunity"]["owner"]
        for _ in range(5)
    ]
    # then
    assert owners == [user_ref(user) for user in (c, a, b, c, a)]


async def test_auto_assign_skips_a_member_with_more_open_cards(api):
    # given a holds two open cards here; a closed card and one elsewhere do not count
    manager = await make_user(*SALES)
    a, b, c = [await make_user(*SALES) for _ in range(3)]
    campaign = await make_campaign(manager, participants=[a, b, c], auto_assign=True)
    for _ in range(2):
        await make_opportunity(campaign, await make_customer(), owner=a)
    await close(
        await make_opportunity(campaign, await make_customer(), owner=b), OpportunityResult.WON
    )
    await make_opportunity(await make_campaign(manager), await make_customer(), owner=c)
    # when
    owners = [
        (await create(api, manager, campaign, owner="NOBODY")).ok()["createOpportunity"]["owner"]
        for _ in range(5)
    ]
    # then a waits until the others have caught up
    assert owners == [user_ref(user) for user in (b, c, b, c, a)]


async def test_auto_assign_never_picks_a_participant_outside_the_rotation(api):
    # given
    manager = await make_user(*SALES)
    in_rotation, left_out = await make_user(*SALES), await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[left_out, in_rotation], auto_assign=True)
    await set_rotation(campaign, [in_rotation])
    # when
    owners = [
        (await create(api, manager, campaign, owner="NOBODY")).ok()["createOpportunity"]["owner"]
        for _ in range(3)
    ]
    # then
    assert owners == [user_ref(in_rotation)] * 3


async def test_auto_assign_leaves_an_explicit_owner_alone(api):
    # given
    manager = await make_user(*SALES)
    a, b = await make_user(*SALES), await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[a, b], auto_assign=True)
    # when
    own = await create(api, manager, campaign)
    named = await create(api, manager, campaign, owner="USER", ownerId=gid("User", b))
    # then
    assert own.ok()["createOpportunity"]["owner"] == user_ref(manager)
    assert named.ok()["createOpportunity"]["owner"] == user_ref(b)


# Hand-over when a participant leaves


async def test_removing_a_participant_hands_their_open_cards_to_the_rotation(api):
    # given b owns two open cards in different steps and a won one; a owns one open card
    manager = await make_user(*SALES)
    a, b, c = [await make_user(*SALES) for _ in range(3)]
    campaign = await make_campaign(manager, participants=[a, b, c], auto_assign=True)
    new, contacted, _ = await stages_of(campaign)
    await make_opportunity(campaign, await make_customer(), owner=a)
    first = await make_opportunity(campaign, await make_customer(), owner=b, stage=contacted)
    second = await make_opportunity(campaign, await make_customer(), owner=b, stage=new)
    won = await make_opportunity(campaign, await make_customer(), owner=b)
    await close(won, OpportunityResult.WON)
    # when the manager removes b
    result = await api.execute(
        UPDATE_CAMPAIGN_PARTICIPANTS,
        {
            "input": {
                "id": gid("Campaign", campaign),
                "participantIds": [gid("User", a), gid("User", c)],
            }
        },
        viewer=manager,
    )
    # then c (fewest cards) takes the first, then a (first in rotation on a tie)
    assert result.ok()["updateCampaign"]["participants"] == [user_ref(a), user_ref(c)]
    first_now, second_now = await Opportunity.get(id=first.pk), await Opportunity.get(id=second.pk)
    assert (first_now.owner_id, first_now.stage_id) == (c.pk, contacted.pk)
    assert (second_now.owner_id, second_now.stage_id) == (a.pk, new.pk)
    assert await owner_pk(won) == b.pk


async def test_removing_a_participant_keeps_their_cards_when_auto_assign_is_off(api):
    # given
    manager = await make_user(*SALES)
    a, b = await make_user(*SALES), await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[a, b])
    card = await make_opportunity(campaign, await make_customer(), owner=b)
    # when
    result = await api.execute(
        UPDATE_CAMPAIGN_PARTICIPANTS,
        {"input": {"id": gid("Campaign", campaign), "participantIds": [gid("User", a)]}},
        viewer=manager,
    )
    # then
    assert result.ok()["updateCampaign"]["participants"] == [user_ref(a)]
    assert await owner_pk(card) == b.pk


# Claiming an unowned card


async def test_claim_opportunity_gives_an_unowned_card_to_the_participant(api):
    # given
    participant = await make_user(*SALES)
    campaign = await make_campaign(await make_user(*SALES), participants=[participant])
    card = await make_opportunity(campaign, await make_customer())
    # when
    result = await api.execute(
        CLAIM_OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=participant
    )
    # then
    assert result.ok()["claimOpportunity"]["owner"] == user_ref(participant)
    assert await owner_pk(card) == participant.pk


async def test_claim_opportunity_is_a_conflict_when_someone_claimed_first(api):
    # given
    first, second = await make_user(*SALES), await make_user(*SALES)
    campaign = await make_campaign(await make_user(*SALES), participants=[first, second])
    card = await make_opportunity(campaign, await make_customer())
    # when
    won = await api.execute(CLAIM_OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=first)
    late = await api.execute(CLAIM_OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=second)
    # then
    assert won.ok()["claimOpportunity"]["owner"] == user_ref(first)
    assert late.codes == ["CONFLICT"]
    assert late.data is None
    assert await owner_pk(card) == first.pk


async def test_claim_opportunity_is_forbidden_for_a_viewer_who_is_not_a_participant(api):
    # given a VIEW_ALL seller and the manager: both see the card, neither takes part
    manager = await make_user(*SALES)
    auditor = await make_user(*SALES, Permission.VIEW_ALL)
    campaign = await make_campaign(manager, participants=[await make_user(*SALES)])
    card = await make_opportunity(campaign, await make_customer())
    # when
    by_auditor = await api.execute(
        CLAIM_OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=auditor
    )
    by_manager = await api.execute(
        CLAIM_OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=manager
    )
    # then
    assert by_auditor.codes == by_manager.codes == ["FORBIDDEN"]
    assert await owner_pk(card) is None


# Assigning


async def test_assign_opportunity_by_the_manager_sets_the_owner(api):
    # given
    manager = await make_user(*SALES)
    participant = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[participant])
    card = await make_opportunity(campaign, await make_customer())
    # when
    result = await api.execute(
        ASSIGN_OPPORTUNITY,
        {"input": {"id": gid("Opportunity", card), "ownerId": gid("User", participant)}},
        viewer=manager,
    )
    # then
    assert result.ok()["assignOpportunity"]["owner"] == user_ref(participant)
    assert await owner_pk(card) == participant.pk


async def test_assign_opportunity_with_null_owner_leaves_it_unowned(api):
    # given
    manager = await make_user(*SALES)
    participant = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[participant])
    card = await make_opportunity(campaign, await make_customer(), owner=participant)
    # when
    result = await api.execute(
        ASSIGN_OPPORTUNITY,
        {"input": {"id": gid("Opportunity", card), "ownerId": None}},
        viewer=manager,
    )
    # then
    assert result.ok()["assignOpportunity"]["owner"] is None
    assert await owner_pk(card) is None


async def test_assign_opportunity_is_refused_when_the_assignee_is_outside_the_campaign(api):
    # given
    manager = await make_user(*SALES)
    participant = await make_user(*SALES)
    outsider = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[participant])
    card = await make_opportunity(campaign, await make_customer(), owner=participant)
    # when
    result = await api.execute(
        ASSIGN_OPPORTUNITY,
        {"input": {"id": gid("Opportunity", card), "ownerId": gid("User", outsider)}},
        viewer=manager,
    )
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "ownerId" in result.errors[0]["message"]
    assert await owner_pk(card) == participant.pk


async def test_assign_opportunity_is_forbidden_for_a_participant_without_view_all(api):
    # given a participant who may edit the cards but does not manage the campaign
    editor = await make_user(*SALES)
    campaign = await make_campaign(await make_user(*SALES), participants=[editor])
    card = await make_opportunity(campaign, await make_customer())
    # when
    result = await api.execute(
        ASSIGN_OPPORTUNITY,
        {"input": {"id": gid("Opportunity", card), "ownerId": gid("User", editor)}},
        viewer=editor,
    )
    # then
    assert result.codes == ["FORBIDDEN"]
    assert result.data is None
    assert await owner_pk(card) is None


async def test_assign_opportunity_succeeds_with_view_all_and_opportunity_edit(api):
    # given
    auditor = await make_user(
        Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT, Permission.VIEW_ALL
    )
    participant = await make_user(*SALES)
    campaign = await make_campaign(await make_user(*SALES), participants=[participant])
    card = await make_opportunity(campaign, await make_customer())
    # when
    result = await api.execute(
        ASSIGN_OPPORTUNITY,
        {"input": {"id": gid("Opportunity", card), "ownerId": gid("User", participant)}},
        viewer=auditor,
    )
    # then
    assert result.ok()["assignOpportunity"]["owner"] == user_ref(participant)
    assert await owner_pk(card) == participant.pk


# The registration deadline


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_registration_deadline_is_creation_plus_the_campaign_wait(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager, registration_wait_minutes=30)
    # when
    before = datetime.now(UTC)
    result = await create(api, manager, campaign, owner="NOBODY")
    after = datetime.now(UTC)
    # then
    deadline = parse(result.ok()["createOpportunity"]["registrationDeadline"])
    slack = timedelta(seconds=2)
    assert (
        before + timedelta(minutes=30) - slack <= deadline <= after + timedelta(minutes=30) + slack
    )


async def test_registration_deadline_is_null_for_an_owned_card(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager, registration_wait_minutes=30)
    # when
    result = await create(api, manager, campaign)
    # then
    assert result.ok()["createOpportunity"]["registrationDeadline"] is None


async def test_registration_deadline_is_null_when_the_campaign_sets_no_wait(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    # when
    result = await create(api, manager, campaign, owner="NOBODY")
    # then
    card = result.ok()["createOpportunity"]
    assert card["owner"] is None
    assert card["registrationDeadline"] is None


@pytest.mark.parametrize("how", ["claim", "assign"])
async def test_registration_deadline_is_null_once_the_card_is_owned(api, how):
    # given an unowned card waiting for a claim
    manager = await make_user(*SALES)
    participant = await make_user(*SALES)
    campaign = await make_campaign(
        manager, participants=[participant], registration_wait_minutes=30
    )
    created = (await create(api, manager, campaign, owner="NOBODY")).ok()["createOpportunity"]
    assert created["registrationDeadline"] is not None
    # when
    if how == "claim":
        await api.execute(CLAIM_OPPORTUNITY, {"id": created["id"]}, viewer=participant)
    else:
        await api.execute(
            ASSIGN_OPPORTUNITY,
            {"input": {"id": created["id"], "ownerId": gid("User", participant)}},
            viewer=manager,
        )
    # then
    result = await api.execute(OPPORTUNITY_DEADLINE, {"id": created["id"]}, viewer=manager)
    assert result.ok()["opportunity"] == {
        "id": created["id"],
        "registrationDeadline": None,
        "owner": user_ref(participant),
    }
