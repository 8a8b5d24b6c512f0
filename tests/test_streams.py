"""Stream rules inside one process (memory bus): what each viewer is sent, and when it ends."""

from __future__ import annotations

import asyncio

import pytest

from models import EventKind, Permission
from realtime.after_commit import publishing_to
from resolvers import board, campaigns, chat, subscriptions
from resolvers.context import Context
from resolvers.errors import Forbidden
from server.auth import JwtTokens
from tests.conftest import TEST_SECRET
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)

CHAT = frozenset({EventKind.CHAT_MESSAGE_POSTED})


def context_of(user, bus) -> Context:
    return Context(viewer=user, tokens=JwtTokens(TEST_SECRET, 60), bus=bus)


async def test_a_viewer_without_opportunity_access_gets_chat_but_no_card_events(bus):
    # given a participant without the opportunity function, following the board
    manager = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
    watcher = await make_user()
    campaign = await make_campaign(manager, participants=[watcher])
    card = await make_opportunity(campaign, await make_customer(), owner=manager)
    stream = subscriptions.campaign_events(context_of(watcher, bus), campaign, None, None)
    first = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.1)
    # when a card moves, then a message is posted
    stages = await stages_of(campaign)
    with publishing_to(bus):
        await board.move_opportunity(
            card, manager, stage_id=gid("Stage", stages[1]), after_id=None, expected_version=None
        )
        await chat.post_message(campaign, manager, "hello")
    # then only the message reaches them
    event = await asyncio.wait_for(first, 5)
    assert event.kind == EventKind.CHAT_MESSAGE_POSTED
    assert event.seq == 2
    await stream.aclose()


async def test_a_removed_participant_chat_stream_ends_before_the_next_message(bus):
    # given a participant following the chat
    manager = await make_user()
    member = await make_user()
    campaign = await make_campaign(manager, participants=[member])
    stream = subscriptions.campaign_events(context_of(member, bus), campaign, None, CHAT)
    first = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.1)
    with publishing_to(bus):
        await chat.post_message(campaign, manager, "welcome")
    assert (await asyncio.wait_for(first, 5)).seq == 1
    # when they are removed, and another message is posted
    with publishing_to(bus):
        await campaigns.update_campaign(campaign.pk, manager, participant_ids=[])
        await chat.post_message(campaign, manager, "just us now")
    # then the stream ends with FORBIDDEN instead of delivering it
    with pytest.raises(Forbidden):
        await asyncio.wait_for(anext(stream), 5)
