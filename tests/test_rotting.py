"""The rotting check: one OpportunityRotting event and one notification per card per
stay, however many checks run at once, and live on a board served by another process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tortoise import timezone

from models import (
    CampaignEvent,
    EventKind,
    Notification,
    NotificationKind,
    Permission,
    Stage,
)
from realtime.after_commit import publishing_to
from resolvers.event_cursors import event_cursor
from resolvers.rotting_watch import log_rotting_cards
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user
from tests.live import LiveClient, post, redis_server, serving
from tests.test_live import env, move, token_for

LOSE = """
mutation ($input: MarkOpportunityLostInput!) { markOpportunityLost(input: $input) { id } }
"""
SALES = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_EDIT)


async def _team(rotting_days=(0, 1, None)):
    manager = await make_user(*SALES, name="Mai")
    seller = await make_user(*SALES, name="An")
    campaign = await make_campaign(manager, participants=[seller])
    stages = list(await Stage.filter(campaign_id=campaign.pk).order_by("position"))
    for stage, days in zip(stages, rotting_days, strict=True):
        stage.rotting_days = days
        await stage.save()
    return manager, seller, campaign, stages


async def _rotting_events(campaign):
    return [
        event.data["opportunity_id"]
        for event in await CampaignEvent.filter(
            campaign_id=campaign.pk, kind=EventKind.OPPORTUNITY_ROTTING
        ).order_by("seq")
    ]


async def _told(user):
    return [
        row.opportunity_id
        for row in await Notification.filter(
            recipient_id=user.pk, kind=NotificationKind.OPPORTUNITY_ROTTING
        ).order_by("id")
    ]


async def test_each_rotting_card_is_logged_and_told_once_per_stay(app, bus):
    # given an owned and an unowned card in a step that rots at once
    manager, seller, campaign, _stages = await _team()
    owned = await make_opportunity(campaign, await make_customer(), owner=seller)
    unowned = await make_opportunity(campaign, await make_customer())
    later = timezone.now() + timedelta(seconds=1)
    with publishing_to(bus):
        # when the check runs twice
        first = await log_rotting_cards(later)
        second = await log_rotting_cards(later)
    # then each card is logged once, the owner told of theirs and the manager of the other
    assert (first, second) == (2, 0)
    assert sorted(await _rotting_events(campaign)) == sorted([owned.pk, unowned.pk])
    assert await _told(seller) == [owned.pk]
    assert await _told(manager) == [unowned.pk]


async def test_a_new_stay_rots_again_and_a_closed_card_does_not(app, bus, api):
    _manager, seller, campaign, stages = await _team()
    card = await make_opportunity(campaign, await make_customer(), owner=seller)
    closed = await make_opportunity(campaign, await make_customer(), owner=seller)
    lose = {"input": {"id": gid("Opportunity", closed), "reason": "no budget"}}
    lost = await api.execute(LOSE, lose, viewer=seller)
    assert lost.ok()
    with publishing_to(bus):
        assert await log_rotting_cards(timezone.now() + timedelta(seconds=1)) == 1
        # when the card moves to a step that rots after a day
        moved = await api.execute(
            "mutation ($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { id } }",
            {"input": {"id": gid("Opportunity", card), "stageId": gid("Stage", stages[1])}},
            viewer=seller,
        )
        assert moved.ok()
        # then it is not rotting before the day is out, and is logged once after
        assert await log_rotting_cards(timezone.now() + timedelta(hours=23)) == 0
        assert await log_rotting_cards(timezone.now() + timedelta(days=1, seconds=1)) == 1
    assert await _rotting_events(campaign) == [card.pk, card.pk]
    assert await _told(seller) == [card.pk, card.pk]


@pytest.mark.postgres_only  # SQLite has one writer: checks cannot overlap there
async def test_checks_running_at_once_log_each_card_once(app, bus):
    # given twenty rotting cards over two campaigns
    cards = []
    campaigns = []
    for _ in range(2):
        _manager, seller, campaign, _stages = await _team()
        campaigns.append(campaign)
        for _ in range(10):
            cards.append(await make_opportunity(campaign, await make_customer(), owner=seller))
    later = timezone.now() + timedelta(seconds=1)
    # when four checks run at once
    with publishing_to(bus):
        counts = await asyncio.gather(*(log_rotting_cards(later) for _ in range(4)))
    # then between them they logged each card exactly once
    assert sum(counts) == 20
    logged = [pk for campaign in campaigns for pk in await _rotting_events(campaign)]
    assert sorted(logged) == sorted(card.pk for card in cards)


ROTTING_EVENTS = """
subscription Board($campaignId: ID!, $after: String) {
  campaignEvents(campaignId: $campaignId, after: $after) {
    seq
    stageTotals { stageId opportunityCount totalAmount weightedAmount rottingCount }
    payload {
      __typename
      ... on OpportunityRotting { opportunityId rottingSince opportunity { rottingSince } }
      ... on OpportunityMoved { opportunityId }
    }
  }
}
"""
ROTTING_CHECK_SECONDS = "1"


@pytest.mark.postgres_only
async def test_two_servers_log_each_stay_of_a_rotting_card_once_live_on_a_board(
    app, database_url, tmp_path
):
    # given a card in a step that rots at once, and two servers checking every second
    manager, seller, campaign, stages = await _team(rotting_days=(0, 0, None))
    card = await make_opportunity(campaign, await make_customer(), owner=seller)
    token = token_for(manager)
    settings = {**env(database_url), "ROTTING_CHECK_SECONDS": ROTTING_CHECK_SECONDS}
    with redis_server() as redis:
        settings["REDIS_URL"] = redis.url
        with serving(tmp_path, **settings) as first, serving(tmp_path, **settings):
            client = await LiveClient.connect(first, token)
            # From the log's start: the servers may have logged the card already.
            after = event_cursor(campaign.pk, 0)
            await client.subscribe(
                ROTTING_EVENTS, {"campaignId": gid("Campaign", campaign), "after": after}
            )
            # when the checks have run, and the card then moves to another such step
            rotting = (await client.next_data(timeout=10))["campaignEvents"]
            await move(first, token, card, stages[1])
            moved = (await client.next_data())["campaignEvents"]
            rotting_again = (await client.next_data(timeout=10))["campaignEvents"]
            # then nothing more comes, however many checks run
            with pytest.raises(TimeoutError):
                await client.receive(timeout=3)
            await client.close()
            # and a board replaying the log gets the same events with the same totals
            replaying = await LiveClient.connect(first, token)
            await replaying.subscribe(
                ROTTING_EVENTS, {"campaignId": gid("Campaign", campaign), "after": after}
            )
            replayed = [(await replaying.next_data())["campaignEvents"] for _ in range(3)]
            await replaying.close()
            notifications = await post(
                first,
                "{ notifications(first: 10) { edges { node { kind } } } }",
                {},
                token_for(seller),
            )
    # and the board saw one rotting event per stay, in order, with the move between them
    live = [rotting, moved, rotting_again]
    assert [event["stageTotals"] for event in replayed] == [event["stageTotals"] for event in live]
    rotting_column = {
        "stageId": gid("Stage", stages[0]),
        "opportunityCount": 1,
        "totalAmount": "0.00",
        "weightedAmount": "0.00",
        "rottingCount": 1,
    }
    assert rotting["stageTotals"] == [rotting_column]
    assert [totals["stageId"] for totals in moved["stageTotals"]] == [
        gid("Stage", stages[0]),
        gid("Stage", stages[1]),
    ]
    kinds = [e["payload"]["__typename"] for e in live]
    assert kinds == ["OpportunityRotting", "OpportunityMoved", "OpportunityRotting"]
    assert rotting["payload"]["opportunityId"] == gid("Opportunity", card)
    assert rotting["payload"]["rottingSince"] < rotting_again["payload"]["rottingSince"]
    assert (
        rotting_again["payload"]["opportunity"]["rottingSince"]
        == (rotting_again["payload"]["rottingSince"])
    )
    assert await _rotting_events(campaign) == [card.pk, card.pk]
    told = [edge["node"]["kind"] for edge in notifications["data"]["notifications"]["edges"]]
    assert told.count("OPPORTUNITY_ROTTING") == 2
