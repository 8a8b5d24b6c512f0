"""archiveCampaign and deleteCampaign: an archived campaign is read-only and out of
`campaigns`; a deleted one takes its cards, chat and events with it, unless orders came
from it, and its live streams end with NOT_FOUND."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from models import (
    Campaign,
    CampaignEvent,
    ChatMessage,
    Communication,
    LossReason,
    Opportunity,
    Order,
    Permission,
    Stage,
    Task,
    User,
)
from server.auth import JwtTokens
from tests.conftest import TEST_SECRET
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user
from tests.live import LiveClient, post, redis_server, serving

ARCHIVE = """
mutation Archive($id: ID!, $archived: Boolean!) {
  archiveCampaign(id: $id, archived: $archived) { id archivedAt }
}
"""
DELETE = "mutation Delete($id: ID!) { deleteCampaign(id: $id) }"
CAMPAIGNS = """
query Campaigns($all: Boolean!) { campaigns(includeArchived: $all) { edges { node { id } } } }
"""
CAMPAIGN = "query One($id: ID!) { campaign(id: $id) { id archivedAt } }"
ALL = (
    Permission.OPPORTUNITY_ACCESS,
    Permission.OPPORTUNITY_CREATE,
    Permission.OPPORTUNITY_EDIT,
    Permission.OPPORTUNITY_DELETE,
    Permission.CAMPAIGN_EDIT,
)


@dataclass
class Team:
    manager: User
    seller: User
    campaign: Campaign
    other: Campaign
    stages: list[Stage]
    card: Opportunity
    unowned: Opportunity
    lost: Opportunity
    task: Task
    reason: LossReason
    outside: Opportunity


async def a_team() -> Team:
    """A campaign with cards (one unowned, one lost), a task and a loss reason, and a
    second campaign with a card to copy from."""
    manager = await make_user(*ALL, name="Mai")
    seller = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
    campaign = await make_campaign(manager, participants=[seller])
    other = await make_campaign(manager)
    stages = list(await Stage.filter(campaign_id=campaign.pk).order_by("position"))
    card = await make_opportunity(campaign, await make_customer(), owner=seller)
    unowned = await make_opportunity(campaign, await make_customer())
    lost = await make_opportunity(campaign, await make_customer(), owner=manager)
    lost.result = "LOST"
    await lost.save(update_fields=["result"])
    task = await Task.create(title="Call back", opportunity_id=card.pk)
    reason = await LossReason.create(campaign_id=campaign.pk, name="Price", name_key="price")
    outside = await make_opportunity(other, await make_customer(), owner=manager)
    return Team(
        manager, seller, campaign, other, stages, card, unowned, lost, task, reason, outside
    )


# Every mutation that changes a campaign or one of its cards: (name, document, variables;
# "as": "seller" sends it as the participant, the others go as the manager).
CHANGES: list[tuple[str, str, Any]] = [
    (
        "updateCampaign",
        "mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { id } }",
        lambda t: {"i": {"id": gid("Campaign", t.campaign), "name": "Renamed"}},
    ),
    (
        "addStage",
        "mutation($i: AddStageInput!) { addStage(input: $i) { id } }",
        lambda t: {"i": {"campaignId": gid("Campaign", t.campaign), "name": "Late"}},
    ),
    (
        "updateStage",
        "mutation($i: UpdateStageInput!) { updateStage(input: $i) { id } }",
        lambda t: {"i": {"id": gid("Stage", t.stages[2]), "name": "Closing"}},
    ),
    (
        "removeStage",
        "mutation($i: RemoveStageInput!) { removeStage(input: $i) { id } }",
        lambda t: {"i": {"id": gid("Stage", t.stages[2])}},
    ),
    (
        "createOpportunity",
        "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }",
        lambda t: {"i": {"campaignId": gid("Campaign", t.campaign), "customerId": t.customer}},
    ),
    (
        "updateOpportunity",
        "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { id } }",
        lambda t: {"i": {"id": gid("Opportunity", t.card), "probability": 70}},
    ),
    (
        "moveOpportunity",
        "mutation($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id } }",
        lambda t: {"i": {"id": gid("Opportunity", t.card), "stageId": gid("Stage", t.stages[1])}},
    ),
    (
        "assignOpportunity",
        "mutation($i: AssignOpportunityInput!) { assignOpportunity(input: $i) { id } }",
        lambda t: {"i": {"id": gid("Opportunity", t.card), "ownerId": gid("User", t.manager)}},
    ),
    (
        "claimOpportunity",
        "mutation($id: ID!) { claimOpportunity(id: $id) { id } }",
        lambda t: {"id": gid("Opportunity", t.unowned), "as": "seller"},
    ),
    (
        "copyOpportunity (into it)",
        "mutation($i: CopyOpportunityInput!) { copyOpportunity(input: $i) { id } }",
        lambda t: {
            "i": {"id": gid("Opportunity", t.outside), "campaignId": gid("Campaign", t.campaign)}
        },
    ),
    (
        "markOpportunityWon",
        "mutation($i: MarkOpportunityWonInput!) { markOpportunityWon(input: $i) { id } }",
        lambda t: {"i": {"id": gid("Opportunity", t.card), "orderAmount": "100"}},
    ),
    (
        "markOpportunityLost",
        "mutation($i: MarkOpportunityLostInput!) { markOpportunityLost(input: $i) { id } }",
        lambda t: {"i": {"id": gid("Opportunity", t.card), "reason": "Too dear"}},
    ),
    (
        "reopenOpportunity",
        "mutation($id: ID!) { reopenOpportunity(id: $id) { id } }",
        lambda t: {"id": gid("Opportunity", t.lost)},
    ),
    (
        "deleteOpportunity",
        "mutation($id: ID!) { deleteOpportunity(id: $id) }",
        lambda t: {"id": gid("Opportunity", t.card)},
    ),
    (
        "logCommunication",
        "mutation($i: LogCommunicationInput!) { logCommunication(input: $i) { id } }",
        lambda t: {
            "i": {"opportunityId": gid("Opportunity", t.card), "kind": "CALL", "content": "Called"}
        },
    ),
    (
        "createTask",
        "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
        lambda t: {"i": {"opportunityId": gid("Opportunity", t.card), "title": "Visit"}},
    ),
    (
        "completeTask",
        "mutation($id: ID!) { completeTask(id: $id) { id } }",
        lambda t: {"id": gid("Task", t.task)},
    ),
    (
        "createOrder",
        "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }",
        lambda t: {"i": {"opportunityId": gid("Opportunity", t.card), "amount": "50"}},
    ),
    (
        "postChatMessage",
        "mutation($i: PostChatMessageInput!) { postChatMessage(input: $i) { id } }",
        lambda t: {"i": {"campaignId": gid("Campaign", t.campaign), "body": "Hello"}},
    ),
    (
        "addLossReason",
        "mutation($i: AddLossReasonInput!) { addLossReason(input: $i) { id } }",
        lambda t: {"i": {"campaignId": gid("Campaign", t.campaign), "name": "Timing"}},
    ),
    (
        "archiveLossReason",
        "mutation($id: ID!) { archiveLossReason(id: $id) { id } }",
        lambda t: {"id": gid("LossReason", t.reason)},
    ),
]


async def snapshot(campaign: Campaign) -> dict[str, Any]:
    """Everything a change could touch, as stored."""
    cards = Opportunity.filter(campaign_id=campaign.pk)
    return {
        "campaign": await Campaign.filter(id=campaign.pk).values(),
        "stages": await Stage.filter(campaign_id=campaign.pk).order_by("id").values(),
        "cards": await cards.order_by("id").values(),
        "tasks": await Task.filter(opportunity__campaign_id=campaign.pk).order_by("id").values(),
        "communications": await Communication.all().count(),
        "orders": await Order.all().count(),
        "chat": await ChatMessage.filter(campaign_id=campaign.pk).count(),
        "events": await CampaignEvent.filter(campaign_id=campaign.pk).count(),
        "reasons": await LossReason.filter(campaign_id=campaign.pk).order_by("id").values(),
        "all cards": await Opportunity.all().count(),
    }


@pytest.mark.parametrize(("name", "document", "variables"), CHANGES, ids=[c[0] for c in CHANGES])
async def test_an_archived_campaign_refuses_every_change_and_keeps_its_rows(
    api, name, document, variables
):
    # given an archived campaign with cards, a task and a loss reason
    team = await a_team()
    team.customer = gid("Customer", await make_customer())  # type: ignore[attr-defined]
    archived = await api.execute(
        ARCHIVE, {"id": gid("Campaign", team.campaign), "archived": True}, viewer=team.manager
    )
    assert archived.ok()["archiveCampaign"]["archivedAt"] is not None
    before = await snapshot(team.campaign)
    # when its manager (who may do everything) or, to claim, its participant tries the change
    given = variables(team)
    actor = team.seller if given.pop("as", None) == "seller" else team.manager
    result = await api.execute(document, given, viewer=actor)
    # then it is refused, naming the archive, and nothing was written
    assert result.codes == ["BAD_USER_INPUT"], (name, result.errors)
    assert "archived" in result.errors[0]["message"]
    assert await snapshot(team.campaign) == before


async def test_an_unarchived_campaign_takes_changes_again(api):
    team = await a_team()
    campaign_id = gid("Campaign", team.campaign)
    for archived in (True, False):
        result = await api.execute(
            ARCHIVE, {"id": campaign_id, "archived": archived}, viewer=team.manager
        )
        assert (result.ok()["archiveCampaign"]["archivedAt"] is not None) == archived
    _, document, variables = CHANGES[6]  # moveOpportunity
    assert not (await api.execute(document, variables(team), viewer=team.manager)).errors


async def test_archiving_twice_logs_one_event_and_a_participant_may_not_archive(api):
    team = await a_team()
    campaign_id = gid("Campaign", team.campaign)
    refused = await api.execute(ARCHIVE, {"id": campaign_id, "archived": True}, viewer=team.seller)
    assert refused.codes == ["FORBIDDEN"]
    for _ in range(2):
        await api.execute(ARCHIVE, {"id": campaign_id, "archived": True}, viewer=team.manager)
    events = await CampaignEvent.filter(campaign_id=team.campaign.pk).values_list("data", flat=True)
    assert [data["changed_fields"] for data in events] == [["archivedAt"]]


async def test_campaigns_leaves_archived_ones_out_unless_asked(api):
    team = await a_team()
    await api.execute(
        ARCHIVE, {"id": gid("Campaign", team.campaign), "archived": True}, viewer=team.manager
    )

    async def listed(everything: bool) -> set[str]:
        result = await api.execute(CAMPAIGNS, {"all": everything}, viewer=team.manager)
        return {edge["node"]["id"] for edge in result.ok()["campaigns"]["edges"]}

    assert await listed(False) == {gid("Campaign", team.other)}
    assert await listed(True) == {gid("Campaign", team.other), gid("Campaign", team.campaign)}
    # and the campaign itself still answers, read-only
    one = await api.execute(CAMPAIGN, {"id": gid("Campaign", team.campaign)}, viewer=team.seller)
    assert one.ok()["campaign"]["archivedAt"] is not None


async def test_delete_removes_the_campaign_with_its_cards_chat_and_events(api):
    # given a campaign with cards, a message and events, and a deleter with CAMPAIGN_DELETE
    team = await a_team()
    deleter = await make_user(Permission.CAMPAIGN_DELETE, Permission.VIEW_ALL)
    await api.execute(
        CHANGES[18][1], CHANGES[18][2](team), viewer=team.manager
    )  # a chat message, and its event
    await api.execute(CHANGES[6][1], CHANGES[6][2](team), viewer=team.manager)  # a move
    kept = await make_opportunity(team.other, await make_customer())
    # when the deleter deletes it
    result = await api.execute(DELETE, {"id": gid("Campaign", team.campaign)}, viewer=deleter)
    # then it answers the id, and nothing of the campaign is left; the other one is whole
    assert result.ok()["deleteCampaign"] == gid("Campaign", team.campaign)
    assert not await Campaign.exists(id=team.campaign.pk)
    assert await Opportunity.filter(campaign_id=team.campaign.pk).count() == 0
    assert await ChatMessage.filter(campaign_id=team.campaign.pk).count() == 0
    assert await CampaignEvent.filter(campaign_id=team.campaign.pk).count() == 0
    assert await Task.filter(id=team.task.pk).count() == 0
    assert sorted(card.pk for card in await Opportunity.all()) == [team.outside.pk, kept.pk]
    gone = await api.execute(CAMPAIGN, {"id": gid("Campaign", team.campaign)}, viewer=deleter)
    assert gone.codes == ["NOT_FOUND"]


async def test_delete_is_refused_while_an_order_came_from_the_campaign(api):
    team = await a_team()
    deleter = await make_user(Permission.CAMPAIGN_DELETE, Permission.VIEW_ALL)
    await Order.create(
        amount=Decimal("10"),
        opportunity_id=team.card.pk,
        customer_id=team.card.customer_id,
        campaign_id=team.campaign.pk,
        created_by_id=team.manager.pk,
    )
    before = await snapshot(team.campaign)
    result = await api.execute(DELETE, {"id": gid("Campaign", team.campaign)}, viewer=deleter)
    assert result.codes == ["BAD_USER_INPUT"]
    assert "orders" in result.errors[0]["message"]
    assert await snapshot(team.campaign) == before


async def test_delete_needs_campaign_delete_and_a_visible_campaign(api):
    team = await a_team()
    campaign_id = gid("Campaign", team.campaign)
    # the manager without CAMPAIGN_DELETE: FORBIDDEN
    assert (await api.execute(DELETE, {"id": campaign_id}, viewer=team.manager)).codes == [
        "FORBIDDEN"
    ]
    # CAMPAIGN_DELETE on a campaign the user cannot see: NOT_FOUND, as if there were none
    stranger = await make_user(Permission.CAMPAIGN_DELETE)
    assert (await api.execute(DELETE, {"id": campaign_id}, viewer=stranger)).codes == ["NOT_FOUND"]
    assert await Campaign.exists(id=team.campaign.pk)


EVENTS = """
subscription Events($campaignId: ID!) {
  campaignEvents(campaignId: $campaignId) { seq }
}
"""


@pytest.mark.postgres_only
async def test_a_live_stream_of_a_deleted_campaign_ends_with_not_found(app, database_url, tmp_path):
    # given a participant's live stream on a served process with Redis
    team = await a_team()
    deleter = await make_user(Permission.CAMPAIGN_DELETE, Permission.VIEW_ALL)
    tokens = JwtTokens(TEST_SECRET, 3600)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}
    with redis_server() as redis, serving(tmp_path, **env, REDIS_URL=redis.url) as base:
        client = await LiveClient.connect(base, tokens.issue(team.seller).token)
        op = await client.subscribe(EVENTS, {"campaignId": gid("Campaign", team.campaign)})
        await asyncio.sleep(1.0)
        # when the campaign is deleted
        deleted = await post(
            base, DELETE, {"id": gid("Campaign", team.campaign)}, tokens.issue(deleter).token
        )
        assert not deleted.get("errors"), deleted
        # then the stream ends with NOT_FOUND
        message = await client.receive(timeout=10)
        await client.close()
    assert message["id"] == op
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND", message
