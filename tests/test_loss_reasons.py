"""Loss reasons (addLossReason, archiveLossReason, markOpportunityLost's lossReasonId),
the forecast date (expectedCloseAt) and a step's rottingDays bounds."""

from __future__ import annotations

from models import Opportunity, OpportunityResult, Permission
from resolvers.ids import encode_id
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user

SELLER = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT, Permission.OPPORTUNITY_CREATE)

ADD = """
mutation ($input: AddLossReasonInput!) { addLossReason(input: $input) { id name archived } }
"""
ARCHIVE = "mutation ($id: ID!) { archiveLossReason(id: $id) { id name archived } }"
REASONS = """
query ($id: ID!, $all: Boolean!) {
  campaign(id: $id) { lossReasons(includeArchived: $all) { id name archived } }
}
"""
LOSE = """
mutation ($input: MarkOpportunityLostInput!) {
  markOpportunityLost(input: $input) { result failureReason lossReason { id name } }
}
"""
REOPEN = """
mutation ($id: ID!) { reopenOpportunity(id: $id) { result failureReason lossReason { id } } }
"""
CREATE = """
mutation ($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) { id expectedCloseAt }
}
"""
UPDATE = """
mutation ($input: UpdateOpportunityInput!) {
  updateOpportunity(input: $input) { expectedCloseAt version }
}
"""
ADD_STAGE = """
mutation ($input: AddStageInput!) { addStage(input: $input) { rottingDays } }
"""


async def _team():
    manager = await make_user(*SELLER)
    seller = await make_user(*SELLER)
    campaign = await make_campaign(manager, participants=[seller])
    return manager, seller, campaign


async def _add(api, viewer, campaign, name):
    variables = {"input": {"campaignId": gid("Campaign", campaign), "name": name}}
    return await api.execute(ADD, variables, viewer=viewer)


async def _reasons(api, viewer, campaign, include_archived=False):
    variables = {"id": gid("Campaign", campaign), "all": include_archived}
    return (await api.execute(REASONS, variables, viewer=viewer)).ok()["campaign"]["lossReasons"]


async def test_a_manager_adds_reasons_listed_in_order_with_names_unique_whatever_the_case(api):
    # given a campaign's manager
    manager, seller, campaign = await _team()
    # when they add two reasons, then one whose name differs only in case and spaces
    price = (await _add(api, manager, campaign, "Price")).ok()["addLossReason"]
    (await _add(api, manager, campaign, "Timing")).ok()
    again = await _add(api, manager, campaign, "  PRICE ")
    # then the repeat is refused and the list holds the two, in the order added
    assert again.codes == ["BAD_USER_INPUT"]
    assert price == {"id": price["id"], "name": "Price", "archived": False}
    assert [reason["name"] for reason in await _reasons(api, seller, campaign)] == [
        "Price",
        "Timing",
    ]


async def test_only_the_manager_or_campaign_edit_manage_reasons(api):
    manager, seller, campaign = await _team()
    editor = await make_user(Permission.CAMPAIGN_EDIT, Permission.VIEW_ALL)
    # a participant may not add or archive one
    assert (await _add(api, seller, campaign, "Price")).codes == ["FORBIDDEN"]
    added = (await _add(api, editor, campaign, "Price")).ok()["addLossReason"]
    archived = await api.execute(ARCHIVE, {"id": added["id"]}, viewer=seller)
    assert archived.codes == ["FORBIDDEN"]
    # a stranger to the campaign, and an unknown ID, get NOT_FOUND
    stranger = await make_user(*SELLER)
    assert (await api.execute(ARCHIVE, {"id": added["id"]}, viewer=stranger)).codes == ["NOT_FOUND"]
    unknown = encode_id("LossReason", 999_999)
    assert (await api.execute(ARCHIVE, {"id": unknown}, viewer=manager)).codes == ["NOT_FOUND"]
    # and nothing was archived by the refused calls
    assert [reason["archived"] for reason in await _reasons(api, manager, campaign, True)] == [
        False
    ]


async def test_a_card_is_lost_with_a_usable_reason_and_reopening_clears_it(api):
    # given a card, a reason, an archived reason and a reason of another campaign
    manager, seller, campaign = await _team()
    card = await make_opportunity(campaign, await make_customer(), owner=seller)
    price = (await _add(api, manager, campaign, "Price")).ok()["addLossReason"]
    old = (await _add(api, manager, campaign, "Old")).ok()["addLossReason"]
    (await api.execute(ARCHIVE, {"id": old["id"]}, viewer=manager)).ok()
    other_campaign = await make_campaign(manager)
    foreign = (await _add(api, manager, other_campaign, "Price")).ok()["addLossReason"]
    lose = {"id": gid("Opportunity", card), "reason": "too expensive for them"}
    # when it is lost with the archived or the foreign one, then that is refused, the card open
    for unusable in (old["id"], foreign["id"], "not-an-id"):
        refused = await api.execute(
            LOSE, {"input": {**lose, "lossReasonId": unusable}}, viewer=seller
        )
        assert refused.codes == ["BAD_USER_INPUT"], unusable
        assert (await Opportunity.get(id=card.pk)).result == OpportunityResult.OPEN
    # when it is lost with a usable one, then the card keeps the reason and the note
    lost = await api.execute(LOSE, {"input": {**lose, "lossReasonId": price["id"]}}, viewer=seller)
    assert lost.ok()["markOpportunityLost"] == {
        "result": "LOST",
        "failureReason": "too expensive for them",
        "lossReason": {"id": price["id"], "name": "Price"},
    }
    # and archiving the reason later leaves it on the card
    (await api.execute(ARCHIVE, {"id": price["id"]}, viewer=manager)).ok()
    assert await _reasons(api, manager, campaign) == []
    assert [r["name"] for r in await _reasons(api, manager, campaign, True)] == ["Price", "Old"]
    # when it is reopened, then both the reason and the note are cleared
    reopened = await api.execute(REOPEN, {"id": gid("Opportunity", card)}, viewer=manager)
    assert reopened.ok()["reopenOpportunity"] == {
        "result": "OPEN",
        "failureReason": None,
        "lossReason": None,
    }


async def test_expected_close_at_is_set_on_create_changed_cleared_and_left_alone(api):
    _, seller, campaign = await _team()
    create = {
        "campaignId": gid("Campaign", campaign),
        "customerId": gid("Customer", await make_customer()),
        "expectedCloseAt": "2027-02-15T10:00:00+00:00",
    }
    created = (await api.execute(CREATE, {"input": create}, viewer=seller)).ok()
    card_id = created["createOpportunity"]["id"]
    assert created["createOpportunity"]["expectedCloseAt"] == "2027-02-15T10:00:00+00:00"

    async def update(**values):
        variables = {"input": {"id": card_id, **values}}
        return (await api.execute(UPDATE, variables, viewer=seller)).ok()["updateOpportunity"]

    moved = await update(expectedCloseAt="2027-03-01T00:00:00+00:00")
    assert moved["expectedCloseAt"] == "2027-03-01T00:00:00+00:00"
    assert (await update(name="Renamed"))["expectedCloseAt"] == "2027-03-01T00:00:00+00:00"
    cleared = await update(expectedCloseAt=None)
    assert cleared["expectedCloseAt"] is None
    assert (await update(expectedCloseAt=None))["version"] == cleared["version"]  # no change


async def test_rotting_days_must_lie_between_0_and_3650(api):
    manager, _, campaign = await _team()
    for days, codes in ((-1, ["BAD_USER_INPUT"]), (3651, ["BAD_USER_INPUT"]), (3650, [])):
        variables = {"input": {"campaignId": gid("Campaign", campaign), "name": f"S{days}"}}
        variables["input"]["rottingDays"] = days
        result = await api.execute(ADD_STAGE, variables, viewer=manager)
        assert result.codes == codes, days
        if not codes:
            assert result.ok()["addStage"]["rottingDays"] == 3650
