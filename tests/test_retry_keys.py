"""clientMutationId: a repeat within 24 hours returns the first result in its current state
and writes nothing; the same key with anything else is BAD_USER_INPUT; two calls at once
on two processes make one change."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from tortoise import timezone

from models import (
    CampaignEvent,
    ChatMessage,
    Communication,
    Opportunity,
    Order,
    Permission,
    RetryKey,
    Stage,
    Task,
)
from server.auth import JwtTokens
from tests.conftest import TEST_SECRET
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user
from tests.live import post, serving

ALL = (
    Permission.OPPORTUNITY_ACCESS,
    Permission.OPPORTUNITY_CREATE,
    Permission.OPPORTUNITY_EDIT,
    Permission.OPPORTUNITY_DELETE,
)
CREATE = """
mutation Create($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id stage { id } } }
"""
MOVE = """
mutation Move($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id stage { id } } }
"""
EVENTS = "query E($id: ID!) { campaign(id: $id) { lastEventCursor } }"


async def a_board():
    manager = await make_user(*ALL, name="Mai")
    seller = await make_user(*ALL)
    campaign = await make_campaign(manager, participants=[seller])
    stages = list(await Stage.filter(campaign_id=campaign.pk).order_by("position"))
    card = await make_opportunity(campaign, await make_customer(), owner=seller)
    return manager, seller, campaign, stages, card


async def rows() -> dict[str, int]:
    """How many rows of each kind a keyed mutation could write."""
    return {
        model.__name__: await model.all().count()
        for model in (Opportunity, CampaignEvent, Task, Order, Communication, ChatMessage)
    }


async def test_a_repeated_creation_returns_the_first_card_and_writes_nothing(api):
    manager, _, campaign, _, _ = await a_board()
    variables = {
        "i": {
            "campaignId": gid("Campaign", campaign),
            "customerId": gid("Customer", await make_customer()),
            "clientMutationId": "phone-1:create-42",
        }
    }
    first = (await api.execute(CREATE, variables, viewer=manager)).ok()["createOpportunity"]
    before = await rows()
    again = (await api.execute(CREATE, variables, viewer=manager)).ok()["createOpportunity"]
    assert again == first
    assert await rows() == before
    # and the events it logged carry the key
    keys = await CampaignEvent.filter(campaign_id=campaign.pk).values_list("data", flat=True)
    assert [data.get("client_mutation_id") for data in keys][-2:] == ["phone-1:create-42"] * 2


async def test_a_repeat_answers_with_the_current_state_and_does_not_undo_a_later_change(api):
    manager, seller, _, stages, card = await a_board()
    keyed = {
        "i": {"id": gid("Opportunity", card), "stageId": gid("Stage", stages[1]),
              "clientMutationId": "drag-7"}
    }  # fmt: skip
    (await api.execute(MOVE, keyed, viewer=manager)).ok()
    later = {"i": {"id": gid("Opportunity", card), "stageId": gid("Stage", stages[2])}}
    (await api.execute(MOVE, later, viewer=seller)).ok()
    # when the first move is retried (say its answer was lost)
    again = (await api.execute(MOVE, keyed, viewer=manager)).ok()["moveOpportunity"]
    # then it answers with the card where it is now, and leaves it there
    assert again["stage"]["id"] == gid("Stage", stages[2])
    assert (await Opportunity.get(id=card.pk)).stage_id == stages[2].pk


async def test_a_key_used_again_with_other_input_or_another_mutation_is_bad_input(api):
    manager, _, _, stages, card = await a_board()
    key = "k-1"
    first = {"i": {"id": gid("Opportunity", card), "stageId": gid("Stage", stages[1]),
                   "clientMutationId": key}}  # fmt: skip
    (await api.execute(MOVE, first, viewer=manager)).ok()
    other_input = {"i": {**first["i"], "stageId": gid("Stage", stages[2])}}
    assert (await api.execute(MOVE, other_input, viewer=manager)).codes == ["BAD_USER_INPUT"]
    other_mutation = await api.execute(
        by_id("reopenOpportunity"), {"id": gid("Opportunity", card), "k": key}, viewer=manager
    )
    assert other_mutation.codes == ["BAD_USER_INPUT"]
    assert (await Opportunity.get(id=card.pk)).stage_id == stages[1].pk


async def test_keys_are_per_user_and_last_a_day(api):
    manager, seller, _, stages, card = await a_board()

    def move(stage: Stage) -> dict[str, Any]:
        return {"i": {"id": gid("Opportunity", card), "stageId": gid("Stage", stage),
                      "clientMutationId": "same"}}  # fmt: skip

    (await api.execute(MOVE, move(stages[1]), viewer=manager)).ok()
    # another user's identical key is theirs: their move runs
    (await api.execute(MOVE, move(stages[2]), viewer=seller)).ok()
    assert (await Opportunity.get(id=card.pk)).stage_id == stages[2].pk
    # a key older than 24 hours is forgotten: the same key runs again
    await RetryKey.filter(user_id=manager.pk).update(
        created_at=timezone.now() - timedelta(hours=24, seconds=1)
    )
    (await api.execute(MOVE, move(stages[1]), viewer=manager)).ok()
    assert (await Opportunity.get(id=card.pk)).stage_id == stages[1].pk


async def test_a_call_that_failed_keeps_no_key(api):
    manager, _, _, stages, card = await a_board()
    bad = {"i": {"id": gid("Opportunity", card), "stageId": "nope", "clientMutationId": "x"}}
    assert (await api.execute(MOVE, bad, viewer=manager)).codes
    good = {"i": {**bad["i"], "stageId": gid("Stage", stages[1])}}
    (await api.execute(MOVE, good, viewer=manager)).ok()
    assert (await Opportunity.get(id=card.pk)).stage_id == stages[1].pk


def by_input(name: str, selection: str = "{ id }") -> str:
    kind = name[0].upper() + name[1:] + "Input"
    return f"mutation($i: {kind}!) {{ {name}(input: $i) {selection} }}"


def by_id(name: str, selection: str = "{ id }") -> str:
    return f"mutation($id: ID!, $k: String) {{ {name}(id: $id, clientMutationId: $k) {selection} }}"


def keyed_mutations(t: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, document, variables) of every keyed mutation, each with its own key."""
    card = gid("Opportunity", t["card"])
    other = gid("Opportunity", t["other"])
    bulk = "{ batchId succeeded { id } failed { id } }"
    return [
        ("updateOpportunity", by_input("updateOpportunity"),
         {"i": {"id": card, "probability": 40, "clientMutationId": "u"}}),
        ("assignOpportunity", by_input("assignOpportunity"),
         {"i": {"id": card, "ownerId": gid("User", t["seller"]), "clientMutationId": "a"}}),
        ("copyOpportunity", by_input("copyOpportunity"),
         {"i": {"id": card, "campaignId": gid("Campaign", t["second"]), "clientMutationId": "c"}}),
        ("logCommunication", by_input("logCommunication"),
         {"i": {"opportunityId": card, "kind": "CALL", "content": "Hi", "clientMutationId": "l"}}),
        ("createTask", by_input("createTask"),
         {"i": {"opportunityId": card, "title": "Visit", "clientMutationId": "t"}}),
        ("createOrder", by_input("createOrder"),
         {"i": {"opportunityId": card, "amount": "12.5", "clientMutationId": "o"}}),
        ("postChatMessage", by_input("postChatMessage"),
         {"i": {"campaignId": gid("Campaign", t["campaign"]), "body": "Hi",
                "clientMutationId": "p"}}),
        ("markOpportunityWon", by_input("markOpportunityWon"),
         {"i": {"id": card, "orderAmount": "100", "clientMutationId": "w"}}),
        ("reopenOpportunity", by_id("reopenOpportunity"), {"id": card, "k": "r"}),
        ("markOpportunityLost", by_input("markOpportunityLost"),
         {"i": {"id": card, "reason": "Price", "clientMutationId": "x"}}),
        ("claimOpportunity", by_id("claimOpportunity"), {"id": other, "k": "cl", "as": "seller"}),
        ("moveOpportunities", by_input("moveOpportunities", bulk),
         {"i": {"ids": [card, other], "stageId": gid("Stage", t["stages"][1]),
                "clientMutationId": "mm"}}),
        ("assignOpportunities", by_input("assignOpportunities", bulk),
         {"i": {"ids": [card, other], "ownerId": gid("User", t["manager"]),
                "clientMutationId": "am"}}),
        ("deleteOpportunity", by_id("deleteOpportunity", ""), {"id": other, "k": "d"}),
    ]  # fmt: skip


async def test_every_keyed_mutation_answers_its_repeat_without_writing(api):
    # given a board, and each keyed mutation sent once
    manager, seller, campaign, stages, card = await a_board()
    second = await make_campaign(manager)
    other = await make_opportunity(campaign, await make_customer())
    world = {"manager": manager, "seller": seller, "campaign": campaign, "second": second,
             "stages": stages, "card": card, "other": other}  # fmt: skip
    for name, document, variables in keyed_mutations(world):
        actor = seller if variables.pop("as", None) == "seller" else manager
        first = await api.execute(document, variables, viewer=actor)
        assert not first.errors, (name, first.errors)
        before = await rows()
        # when it is sent again, as a flaky network would
        again = await api.execute(document, variables, viewer=actor)
        # then it answers what it did the first time and writes nothing
        assert not again.errors, (name, again.errors)
        assert again.data == first.data, name
        assert await rows() == before, name


@pytest.mark.postgres_only
async def test_one_creation_sent_twice_at_once_to_two_processes_makes_one_card(
    api, database_url, tmp_path
):
    # given two served processes
    manager, _, campaign, _, _ = await a_board()
    token = JwtTokens(TEST_SECRET, 3600).issue(manager).token
    variables = {
        "i": {
            "campaignId": gid("Campaign", campaign),
            "customerId": gid("Customer", await make_customer()),
            "clientMutationId": "tap-twice",
        }
    }
    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    before = await Opportunity.filter(campaign_id=campaign.pk).count()
    with (
        serving(tmp_path / "one", **env) as first,
        serving(tmp_path / "two", **env) as second,
    ):
        # when the same creation reaches both at once, several times over
        answers = []
        for _ in range(3):
            answers += await asyncio.gather(
                post(first, CREATE, variables, token), post(second, CREATE, variables, token)
            )
    # then every answer names the same card, and one card and its events were written
    assert all(not answer.get("errors") for answer in answers), answers
    assert len({answer["data"]["createOpportunity"]["id"] for answer in answers}) == 1
    assert await Opportunity.filter(campaign_id=campaign.pk).count() == before + 1
    created = await CampaignEvent.filter(campaign_id=campaign.pk, kind="OpportunityCreated")
    assert len(created) == 1
