"""createOpportunity: defaults, checks, duplicates, who may add cards and who sees them."""

from __future__ import annotations

import pytest

from models import Opportunity, OpportunityResult, Permission
from resolvers.ids import encode_id
from tests.card_helpers import SALES, close
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
    id name probability amount source result
    campaign { id }
    customer { id }
    stage { id }
    owner { id }
    createdBy { id }
    stageHistory { fromStage { id } toStage { id } }
  }
}
"""
UPDATE_STAGE = """
mutation UpdateStage($input: UpdateStageInput!) {
  updateStage(input: $input) { id probability }
}
"""
OPPORTUNITY = """
query Opportunity($id: ID!) {
  opportunity(id: $id) { id name }
}
"""
CAMPAIGN_CARDS = """
query CampaignCards($id: ID!) {
  campaign(id: $id) { id opportunities { totalCount edges { node { id } } } }
}
"""
CUSTOMER_CARDS = """
query CustomerCards($id: ID!) {
  customer(id: $id) { opportunities { totalCount edges { node { id campaign { id } } } } }
}
"""


async def create(api, viewer, campaign, customer, **values):
    """createOpportunity for the customer in the campaign, with extra input fields."""
    variables = {
        "input": {
            "campaignId": gid("Campaign", campaign),
            "customerId": gid("Customer", customer),
            **values,
        }
    }
    return await api.execute(CREATE_OPPORTUNITY, variables, viewer=viewer)


# Defaults and given values


async def test_create_opportunity_fills_the_defaults_when_only_ids_are_given(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    first = (await stages_of(campaign))[0]
    customer = await make_customer(name="Acme Ltd")
    # when
    result = await create(api, manager, campaign, customer)
    # then
    card = result.ok()["createOpportunity"]
    assert card["name"] == "Acme Ltd"
    assert card["stage"] == {"id": gid("Stage", first)}
    assert card["probability"] == 0
    assert card["source"] == "COMPANY_DATA"
    assert card["amount"] is None
    assert card["result"] == "OPEN"
    assert card["campaign"] == {"id": gid("Campaign", campaign)}
    assert card["customer"] == {"id": gid("Customer", customer)}
    assert card["owner"] == {"id": gid("User", manager)}
    assert card["createdBy"] == {"id": gid("User", manager)}
    assert card["stageHistory"] == [{"fromStage": None, "toStage": {"id": gid("Stage", first)}}]
    assert await Opportunity.filter(campaign_id=campaign.pk).count() == 1


async def test_create_opportunity_keeps_the_values_given(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    second = (await stages_of(campaign))[1]
    customer = await make_customer(name="Acme Ltd")
    # when
    result = await create(
        api,
        manager,
        campaign,
        customer,
        name="Acme - fleet renewal",
        stageId=gid("Stage", second),
        probability=40,
        source="REFERRAL",
        amount="1500.50",
    )
    # then
    card = result.ok()["createOpportunity"]
    assert card["name"] == "Acme - fleet renewal"
    assert card["stage"] == {"id": gid("Stage", second)}
    assert card["probability"] == 40
    assert card["source"] == "REFERRAL"
    assert card["amount"] == "1500.50"


async def test_create_opportunity_probability_defaults_to_the_stage_probability(api):
    # given a manager who set default probabilities on two steps
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    first, second, _ = await stages_of(campaign)
    for stage, probability in ((first, 10), (second, 35)):
        await api.execute(
            UPDATE_STAGE,
            {"input": {"id": gid("Stage", stage), "probability": probability}},
            viewer=manager,
        )
    # when
    in_first = await create(api, manager, campaign, await make_customer())
    in_second = await create(
        api, manager, campaign, await make_customer(), stageId=gid("Stage", second)
    )
    # then
    assert in_first.ok()["createOpportunity"]["probability"] == 10
    assert in_second.ok()["createOpportunity"]["probability"] == 35


async def test_create_opportunity_given_probability_wins_over_the_stage_default(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    first = (await stages_of(campaign))[0]
    await api.execute(
        UPDATE_STAGE, {"input": {"id": gid("Stage", first), "probability": 10}}, viewer=manager
    )
    # when
    result = await create(api, manager, campaign, await make_customer(), probability=0)
    # then
    assert result.ok()["createOpportunity"]["probability"] == 0


@pytest.mark.parametrize("probability", [0, 100])
async def test_create_opportunity_accepts_probability_at_the_bounds(api, probability):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    # when
    result = await create(api, manager, campaign, await make_customer(), probability=probability)
    # then
    assert result.ok()["createOpportunity"]["probability"] == probability


@pytest.mark.parametrize("probability", [-1, 101])
async def test_create_opportunity_is_refused_when_probability_is_out_of_range(api, probability):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    # when
    result = await create(api, manager, campaign, await make_customer(), probability=probability)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "probability" in result.errors[0]["message"]
    assert result.data is None
    assert await Opportunity.all().count() == 0


async def test_create_opportunity_is_refused_when_stage_belongs_to_another_campaign(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    elsewhere = (await stages_of(await make_campaign(manager)))[0]
    # when
    result = await create(
        api, manager, campaign, await make_customer(), stageId=gid("Stage", elsewhere)
    )
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "stageId" in result.errors[0]["message"]
    assert await Opportunity.all().count() == 0


async def test_create_opportunity_is_not_found_for_an_unknown_customer(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    customer = await make_customer()
    # when
    result = await api.execute(
        CREATE_OPPORTUNITY,
        {
            "input": {
                "campaignId": gid("Campaign", campaign),
                "customerId": encode_id("Customer", customer.pk + 1000),
            }
        },
        viewer=manager,
    )
    # then
    assert result.codes == ["NOT_FOUND"]
    assert "customerId" in result.errors[0]["message"]
    assert await Opportunity.all().count() == 0


async def test_create_opportunity_from_the_customer_side_adds_it_to_each_campaign(api):
    # given one customer and two campaigns of the same manager
    manager = await make_user(*SALES)
    spring, summer = await make_campaign(manager), await make_campaign(manager)
    customer = await make_customer()
    # when the customer's page adds it to both campaigns
    into_spring = await create(api, manager, spring, customer)
    into_summer = await create(api, manager, summer, customer)
    # then
    cards = await api.execute(CUSTOMER_CARDS, {"id": gid("Customer", customer)}, viewer=manager)
    listed = cards.ok()["customer"]["opportunities"]
    assert listed["totalCount"] == 2
    assert {edge["node"]["id"] for edge in listed["edges"]} == {
        into_spring.ok()["createOpportunity"]["id"],
        into_summer.ok()["createOpportunity"]["id"],
    }
    assert {edge["node"]["campaign"]["id"] for edge in listed["edges"]} == {
        gid("Campaign", spring),
        gid("Campaign", summer),
    }


# Duplicates


async def test_create_opportunity_is_refused_for_a_second_open_card_without_duplicates(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    customer = await make_customer(name="Acme Ltd")
    existing = await make_opportunity(campaign, customer)
    # when
    result = await create(api, manager, campaign, customer)
    # then
    assert result.codes == ["DUPLICATE_OPPORTUNITY"]
    assert "Acme Ltd" in result.errors[0]["message"]
    assert result.data is None
    assert [card.pk for card in await Opportunity.filter(campaign_id=campaign.pk)] == [existing.pk]


@pytest.mark.parametrize("closed_as", [OpportunityResult.WON, OpportunityResult.LOST])
async def test_create_opportunity_accepts_a_customer_whose_earlier_card_is_closed(api, closed_as):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    customer = await make_customer()
    await close(await make_opportunity(campaign, customer), closed_as)
    # when
    result = await create(api, manager, campaign, customer)
    # then
    assert result.ok()["createOpportunity"]["result"] == "OPEN"
    assert await Opportunity.filter(campaign_id=campaign.pk, customer_id=customer.pk).count() == 2


async def test_create_opportunity_accepts_a_second_open_card_when_duplicates_are_allowed(api):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager, allow_duplicate_opportunities=True)
    customer = await make_customer()
    await make_opportunity(campaign, customer)
    # when
    result = await create(api, manager, campaign, customer)
    # then
    assert result.ok()["createOpportunity"]["result"] == "OPEN"
    assert (
        await Opportunity.filter(
            campaign_id=campaign.pk, customer_id=customer.pk, result=OpportunityResult.OPEN
        ).count()
        == 2
    )


# Who may add a card


@pytest.mark.parametrize("role", ["manager", "participant", "view_all"])
async def test_create_opportunity_succeeds_for_manager_participant_and_view_all(api, role):
    # given
    manager = await make_user(Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_ACCESS)
    participant = await make_user(Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_ACCESS)
    auditor = await make_user(
        Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_ACCESS, Permission.VIEW_ALL
    )
    campaign = await make_campaign(manager, participants=[participant])
    viewer = {"manager": manager, "participant": participant, "view_all": auditor}[role]
    # when
    result = await create(api, viewer, campaign, await make_customer())
    # then
    assert result.ok()["createOpportunity"]["createdBy"] == {"id": gid("User", viewer)}
    assert await Opportunity.filter(campaign_id=campaign.pk).count() == 1


async def test_create_opportunity_is_not_found_for_a_user_who_cannot_see_the_campaign(api):
    # given a seller with every opportunity permission, outside the campaign
    outsider = await make_user(*SALES)
    campaign = await make_campaign(await make_user(), participants=[await make_user()])
    customer = await make_customer()
    # when
    hidden = await create(api, outsider, campaign, customer)
    missing = await api.execute(
        CREATE_OPPORTUNITY,
        {
            "input": {
                "campaignId": encode_id("Campaign", campaign.pk + 1000),
                "customerId": gid("Customer", customer),
            }
        },
        viewer=outsider,
    )
    # then it answers exactly like a campaign that does not exist
    assert hidden.codes == missing.codes == ["NOT_FOUND"]
    assert hidden.data is None
    assert await Opportunity.all().count() == 0


async def test_create_opportunity_is_forbidden_for_a_participant_without_opportunity_create(api):
    # given
    participant = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
    campaign = await make_campaign(await make_user(), participants=[participant])
    # when
    result = await create(api, participant, campaign, await make_customer())
    # then
    assert result.codes == ["FORBIDDEN"]
    assert "OPPORTUNITY_CREATE" in result.errors[0]["message"]
    assert await Opportunity.all().count() == 0


async def test_create_opportunity_is_unauthenticated_when_anonymous(api):
    # given
    campaign = await make_campaign(await make_user())
    # when
    result = await create(api, None, campaign, await make_customer())
    # then
    assert result.codes == ["UNAUTHENTICATED"]
    assert await Opportunity.all().count() == 0


# Who sees the cards


@pytest.mark.parametrize("role", ["manager", "participant", "view_all"])
async def test_opportunity_is_visible_with_opportunity_access_to_campaign_members(api, role):
    # given
    manager = await make_user(Permission.OPPORTUNITY_ACCESS)
    participant = await make_user(Permission.OPPORTUNITY_ACCESS)
    auditor = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.VIEW_ALL)
    campaign = await make_campaign(manager, participants=[participant])
    card = await make_opportunity(campaign, await make_customer(name="Acme Ltd"))
    viewer = {"manager": manager, "participant": participant, "view_all": auditor}[role]
    # when
    by_id = await api.execute(OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=viewer)
    listed = await api.execute(CAMPAIGN_CARDS, {"id": gid("Campaign", campaign)}, viewer=viewer)
    # then
    assert by_id.ok()["opportunity"] == {"id": gid("Opportunity", card), "name": "Acme Ltd"}
    assert listed.ok()["campaign"]["opportunities"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": gid("Opportunity", card)}}],
    }


@pytest.mark.parametrize("role", ["manager", "participant", "view_all"])
async def test_opportunity_is_hidden_from_campaign_members_without_opportunity_access(api, role):
    # given members holding every permission but OPPORTUNITY_ACCESS
    others = [p for p in Permission if p is not Permission.OPPORTUNITY_ACCESS]
    manager = await make_user(*(p for p in others if p is not Permission.VIEW_ALL))
    participant = await make_user(*(p for p in others if p is not Permission.VIEW_ALL))
    auditor = await make_user(*others)
    campaign = await make_campaign(manager, participants=[participant])
    card = await make_opportunity(campaign, await make_customer())
    viewer = {"manager": manager, "participant": participant, "view_all": auditor}[role]
    # when
    by_id = await api.execute(OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=viewer)
    listed = await api.execute(CAMPAIGN_CARDS, {"id": gid("Campaign", campaign)}, viewer=viewer)
    # then the campaign shows, its cards do not
    assert by_id.data == {"opportunity": None}
    assert by_id.error_at("opportunity")["extensions"]["code"] == "NOT_FOUND"
    assert listed.ok()["campaign"] == {
        "id": gid("Campaign", campaign),
        "opportunities": {"totalCount": 0, "edges": []},
    }


async def test_opportunity_is_hidden_from_a_user_outside_the_campaign(api):
    # given
    outsider = await make_user(*SALES)
    campaign = await make_campaign(await make_user(), participants=[await make_user()])
    card = await make_opportunity(campaign, await make_customer())
    missing_id = encode_id("Opportunity", card.pk + 1000)
    # when
    hidden = await api.execute(OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=outsider)
    missing = await api.execute(OPPORTUNITY, {"id": missing_id}, viewer=outsider)
    listed = await api.execute(CAMPAIGN_CARDS, {"id": gid("Campaign", campaign)}, viewer=outsider)
    # then it answers exactly like a card that does not exist
    assert hidden.data == missing.data == {"opportunity": None}
    assert hidden.codes == missing.codes == ["NOT_FOUND"]
    assert listed.data == {"campaign": None}
    assert listed.codes == ["NOT_FOUND"]


async def test_create_opportunity_is_refused_without_opportunity_access(api):
    # given a manager who may create but not use the opportunity function
    manager = await make_user(Permission.OPPORTUNITY_CREATE)
    campaign = await make_campaign(manager)
    customer = await make_customer()
    # when
    result = await create(api, manager, campaign, customer)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert not await Opportunity.filter(campaign_id=campaign.pk).exists()
