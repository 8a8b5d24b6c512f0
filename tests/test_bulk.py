"""moveOpportunities, assignOpportunities and rebalanceOpportunities: each card succeeds or
fails on its own with the code it would get alone, cards land in the given order, and the
events of one call share a batchId."""

from __future__ import annotations

from collections import Counter

from models import CampaignEvent, EventKind, Opportunity, Permission, Stage
from tests.card_helpers import SALES
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user

MOVE_MANY = """
mutation Move($i: MoveOpportunitiesInput!) {
  moveOpportunities(input: $i) { batchId succeeded { id } failed { id code message } }
}
"""
ASSIGN_MANY = """
mutation Assign($i: AssignOpportunitiesInput!) {
  assignOpportunities(input: $i) { batchId succeeded { id owner { id } } failed { id code } }
}
"""
REBALANCE = """
mutation Rebalance($id: ID!) {
  rebalanceOpportunities(campaignId: $id) { batchId succeeded { id owner { id } } failed { id } }
}
"""
COLUMN = """
query Column($id: ID!) {
  node(id: $id) { ... on Stage { opportunities(first: 100) { edges { node { id } } } } }
}
"""
DELETE = "mutation D($id: ID!) { deleteOpportunity(id: $id) }"


async def column(api, viewer, stage) -> list[str]:
    result = await api.execute(COLUMN, {"id": gid("Stage", stage)}, viewer=viewer)
    return [edge["node"]["id"] for edge in result.ok()["node"]["opportunities"]["edges"]]


async def test_a_mixed_bulk_move_applies_exactly_the_valid_cards_in_order(api):
    # given a participant who owns four cards of the first step, a card they do not own,
    # a card of another campaign, a deleted card, and two cards already in the target step
    manager = await make_user(*SALES, Permission.OPPORTUNITY_DELETE)
    seller = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller])
    elsewhere = await make_campaign(seller)
    first, target, _ = await Stage.filter(campaign_id=campaign.pk).order_by("position")
    mine = [await make_opportunity(campaign, await make_customer(), owner=seller) for _ in range(4)]
    theirs = await make_opportunity(campaign, await make_customer(), owner=manager)
    foreign = await make_opportunity(elsewhere, await make_customer(), owner=seller)
    deleted = await make_opportunity(campaign, await make_customer(), owner=seller)
    (await api.execute(DELETE, {"id": gid("Opportunity", deleted)}, viewer=manager)).ok()
    here = [
        await make_opportunity(campaign, await make_customer(), stage=target, owner=seller)
        for _ in range(2)
    ]
    ids = [
        gid("Opportunity", mine[2]),
        gid("Opportunity", theirs),
        gid("Opportunity", mine[0]),
        gid("Opportunity", foreign),
        "not-an-id",
        gid("Opportunity", deleted),
        gid("Opportunity", mine[3]),
        gid("Opportunity", mine[0]),
    ]
    # when the participant moves them all after the first card of the target step
    variables = {
        "i": {"ids": ids, "stageId": gid("Stage", target), "afterId": gid("Opportunity", here[0])}
    }
    result = (await api.execute(MOVE_MANY, variables, viewer=seller)).ok()["moveOpportunities"]
    # then exactly their own cards moved, in the given order, right after that card
    moved = [gid("Opportunity", card) for card in (mine[2], mine[0], mine[3])]
    assert [card["id"] for card in result["succeeded"]] == moved
    assert [(failure["id"], failure["code"]) for failure in result["failed"]] == [
        (gid("Opportunity", theirs), "FORBIDDEN"),
        (gid("Opportunity", foreign), "BAD_USER_INPUT"),
        ("not-an-id", "NOT_FOUND"),
        (gid("Opportunity", deleted), "NOT_FOUND"),
        (gid("Opportunity", mine[0]), "BAD_USER_INPUT"),
    ]
    assert await column(api, seller, target) == [
        gid("Opportunity", here[0]),
        *moved,
        gid("Opportunity", here[1]),
    ]
    # and one OpportunityMoved per moved card, all with the call's batchId, chained
    events = await CampaignEvent.filter(
        campaign_id=campaign.pk, kind=EventKind.OPPORTUNITY_MOVED
    ).order_by("seq")
    assert [event.data["opportunity_id"] for event in events] == [
        mine[2].pk,
        mine[0].pk,
        mine[3].pk,
    ]
    assert {event.data["batch_id"] for event in events} == {result["batchId"]}
    assert [event.data["after_id"] for event in events] == [here[0].pk, mine[2].pk, mine[0].pk]
    # and nothing else changed: the rest stayed where they were
    assert (await Opportunity.get(id=theirs.pk)).stage_id == first.pk
    assert (await Opportunity.get(id=mine[1].pk)).stage_id == first.pk


async def test_more_than_five_hundred_ids_are_refused_whole(api):
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    _, target, _ = await Stage.filter(campaign_id=campaign.pk).order_by("position")
    card = await make_opportunity(campaign, await make_customer(), owner=manager)
    ids = [gid("Opportunity", card)] * 501
    variables = {"i": {"ids": ids, "stageId": gid("Stage", target)}}
    result = await api.execute(MOVE_MANY, variables, viewer=manager)
    assert result.codes == ["BAD_USER_INPUT"]
    assert (await Opportunity.get(id=card.pk)).stage_id != target.pk


async def test_a_bulk_assignment_gives_each_card_the_answer_it_would_get_alone(api):
    # given a manager of one campaign who is a participant of another
    manager = await make_user(*SALES)
    seller = await make_user(*SALES)
    boss = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller])
    other = await make_campaign(boss, participants=[manager])
    cards = [await make_opportunity(campaign, await make_customer()) for _ in range(3)]
    not_theirs = await make_opportunity(other, await make_customer())
    ids = [gid("Opportunity", card) for card in (cards[1], not_theirs, cards[0], cards[2])]
    # when the manager gives them all to the seller
    variables = {"i": {"ids": ids, "ownerId": gid("User", seller)}}
    result = (await api.execute(ASSIGN_MANY, variables, viewer=manager)).ok()
    outcome = result["assignOpportunities"]
    # then the three cards of the managed campaign are the seller's, the other is refused
    assert [card["id"] for card in outcome["succeeded"]] == [ids[0], ids[2], ids[3]]
    assert all(card["owner"]["id"] == gid("User", seller) for card in outcome["succeeded"])
    assert outcome["failed"] == [{"id": ids[1], "code": "FORBIDDEN"}]
    events = await CampaignEvent.filter(
        campaign_id=campaign.pk, kind=EventKind.OPPORTUNITY_ASSIGNED
    ).values_list("data", flat=True)
    assert [(data["reason"], data["batch_id"]) for data in events] == [
        ("MANAGER", outcome["batchId"])
    ] * 3


async def test_rebalance_spreads_open_cards_by_weight_and_logs_only_changes(api):
    # given one seller holding all nine open cards, a second twice as heavy, a third away
    manager = await make_user(*SALES)
    sellers = [await make_user(*SALES) for _ in range(3)]
    campaign = await make_campaign(manager, participants=sellers, auto_assign=True)
    member = """
    mutation M($i: UpdateCampaignMemberInput!) { updateCampaignMember(input: $i) { weight } }
    """
    for seller, settings in ((sellers[1], {"weight": 2}), (sellers[2], {"available": False})):
        variables = {
            "i": {
                "campaignId": gid("Campaign", campaign),
                "userId": gid("User", seller),
                **settings,
            }
        }
        (await api.execute(member, variables, viewer=manager)).ok()
    for _ in range(9):
        await make_opportunity(campaign, await make_customer(), owner=sellers[0])
    # when the manager rebalances
    result = await api.execute(REBALANCE, {"id": gid("Campaign", campaign)}, viewer=manager)
    outcome = result.ok()["rebalanceOpportunities"]
    # then the cards split 3 : 6 by weight, and only the six that changed hands were logged
    owners = Counter(
        await Opportunity.filter(campaign_id=campaign.pk).values_list("owner_id", flat=True)
    )
    assert owners == {sellers[0].pk: 3, sellers[1].pk: 6}
    assert len(outcome["succeeded"]) == 6
    events = await CampaignEvent.filter(
        campaign_id=campaign.pk, kind=EventKind.OPPORTUNITY_ASSIGNED
    ).values_list("data", flat=True)
    assert [(data["reason"], data["batch_id"]) for data in events] == [
        ("REBALANCE", outcome["batchId"])
    ] * 6
    # and a second rebalance changes nothing
    again = await api.execute(REBALANCE, {"id": gid("Campaign", campaign)}, viewer=manager)
    assert again.ok()["rebalanceOpportunities"]["succeeded"] == []
    # and a participant may not rebalance
    refused = await api.execute(REBALANCE, {"id": gid("Campaign", campaign)}, viewer=sellers[0])
    assert refused.codes == ["FORBIDDEN"]
