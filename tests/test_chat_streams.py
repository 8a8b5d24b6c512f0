"""Unread counts and presence inside one process: the embedded default (memory bus and
memory presence), on every backend."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from realtime import presence as presence_store
from realtime.after_commit import publishing_to
from realtime.channels import CHAT_NOTICES
from realtime.redis_backend import RESYNC
from resolvers import campaigns, chat, chat_unread, presence
from resolvers.context import Context
from resolvers.errors import Forbidden
from resolvers.event_cursors import event_cursor
from server.auth import JwtTokens
from tests.conftest import TEST_SECRET
from tests.factories import make_campaign, make_user

WAIT = 5


def context_of(user, bus) -> Context:
    return Context(viewer=user, tokens=JwtTokens(TEST_SECRET, 60), bus=bus)


def counts(unread) -> tuple[int, int, int | None]:
    return unread.campaign_pk, unread.count, unread.read_seq


def shown(presence_now) -> list[tuple[str, str]]:
    return [(entry.user.name, entry.activity.value) for entry in presence_now.entries]


async def test_unread_counts_start_with_what_is_unread_then_follow_every_change(bus):
    # given a quiet campaign and one with a message An has not read
    manager = await make_user(name="Mai")
    an = await make_user(name="An")
    quiet = await make_campaign(manager, participants=[an])
    busy = await make_campaign(manager, participants=[an])
    with publishing_to(bus):
        first = await chat.post_message(busy, manager, "one")
    async with aclosing(chat_unread.my_unread(an, bus)) as stream:
        # then the stream starts with the busy campaign only
        assert counts(await asyncio.wait_for(anext(stream), WAIT)) == (busy.pk, 1, None)
        # when the quiet one gets a message, An posts (no change), then marks it read
        with publishing_to(bus):
            second = await chat.post_message(quiet, manager, "two")
        assert counts(await asyncio.wait_for(anext(stream), WAIT)) == (quiet.pk, 1, None)
        with publishing_to(bus):
            await chat.post_message(quiet, an, "mine")
            await chat.mark_read(quiet, an, _cursor(second))
        assert counts(await asyncio.wait_for(anext(stream), WAIT)) == (quiet.pk, 0, second.seq)
        # and the manager deletes the unread message in the busy one
        with publishing_to(bus):
            await chat.delete_message(first, busy, manager)
        assert counts(await asyncio.wait_for(anext(stream), WAIT)) == (busy.pk, 0, None)


async def test_a_removed_participant_hears_nothing_more_of_the_campaign(bus):
    manager = await make_user()
    an = await make_user()
    campaign = await make_campaign(manager, participants=[an])
    elsewhere = await make_campaign(manager, participants=[an])
    async with aclosing(chat_unread.my_unread(an, bus)) as stream:
        pending = asyncio.create_task(anext(stream))
        await asyncio.sleep(0.1)
        with publishing_to(bus):
            await campaigns.update_campaign(campaign.pk, manager, participant_ids=[])
            await chat.post_message(campaign, manager, "not for An")
            await chat.post_message(elsewhere, manager, "for An")
        # then only the other campaign's count comes (it is the later one: the first
        # campaign's would have come first), and nothing after it
        assert counts(await asyncio.wait_for(pending, WAIT)) == (elsewhere.pk, 1, None)
        more = asyncio.create_task(anext(stream))
        await asyncio.sleep(chat_unread.COALESCE_SECONDS * 3)
        assert not more.done()
        more.cancel()
        await asyncio.gather(more, return_exceptions=True)


async def test_presence_shows_who_is_on_the_campaign_and_who_is_typing(bus, monkeypatch):
    monkeypatch.setattr(presence_store, "TYPING_SECONDS", 0.5)
    manager = await make_user(name="Mai")
    an = await make_user(name="An")
    campaign = await make_campaign(manager, participants=[an])
    mine = presence.campaign_presence(context_of(manager, bus), campaign)
    async with aclosing(mine):
        assert shown(await asyncio.wait_for(anext(mine), WAIT)) == [("Mai", "VIEWING")]
        theirs = presence.campaign_presence(context_of(an, bus), campaign)
        async with aclosing(theirs):
            # when An joins, in two tabs, then types
            assert shown(await asyncio.wait_for(anext(theirs), WAIT)) == [
                ("An", "VIEWING"),
                ("Mai", "VIEWING"),
            ]
            second_tab = presence.campaign_presence(context_of(an, bus), campaign)
            async with aclosing(second_tab):
                await asyncio.wait_for(anext(second_tab), WAIT)
            assert shown(await asyncio.wait_for(anext(mine), WAIT)) == [
                ("An", "VIEWING"),
                ("Mai", "VIEWING"),
            ]
            await presence.set_typing(context_of(an, bus), campaign, True)
            assert shown(await asyncio.wait_for(anext(mine), WAIT)) == [
                ("An", "TYPING"),
                ("Mai", "VIEWING"),
            ]
            # then the typing lapses by itself
            assert shown(await asyncio.wait_for(anext(mine), WAIT)) == [
                ("An", "VIEWING"),
                ("Mai", "VIEWING"),
            ]
        # and when An's last tab closes, An is gone
        assert shown(await asyncio.wait_for(anext(mine), WAIT)) == [("Mai", "VIEWING")]


async def test_a_viewer_who_loses_access_leaves_presence_with_forbidden(bus):
    manager = await make_user(name="Mai")
    an = await make_user(name="An")
    campaign = await make_campaign(manager, participants=[an])
    mine = presence.campaign_presence(context_of(manager, bus), campaign)
    theirs = presence.campaign_presence(context_of(an, bus), campaign)
    async with aclosing(mine), aclosing(theirs):
        await asyncio.wait_for(anext(mine), WAIT)
        await asyncio.wait_for(anext(theirs), WAIT)
        assert shown(await asyncio.wait_for(anext(mine), WAIT)) == [
            ("An", "VIEWING"),
            ("Mai", "VIEWING"),
        ]
        with publishing_to(bus):
            await campaigns.update_campaign(campaign.pk, manager, participant_ids=[])
        with pytest.raises(Forbidden):
            await asyncio.wait_for(anext(theirs), WAIT)
        assert shown(await asyncio.wait_for(anext(mine), WAIT)) == [("Mai", "VIEWING")]


def _cursor(message) -> str:
    return event_cursor(message.campaign_id, message.seq)


async def test_a_resync_recounts_what_no_notice_told(bus):
    # given An following their counts, and a message whose notice never went out
    manager = await make_user()
    an = await make_user()
    campaign = await make_campaign(manager, participants=[an])
    async with aclosing(chat_unread.my_unread(an, bus)) as stream:
        pending = asyncio.create_task(anext(stream))
        await asyncio.sleep(0.1)
        with publishing_to(None):  # committed, but nobody is told
            await chat.post_message(campaign, manager, "lost notice")
        await asyncio.sleep(chat_unread.COALESCE_SECONDS * 2)
        assert not pending.done()
        # when the transport says something may have been missed (a Redis reconnect)
        bus.notice_soon(CHAT_NOTICES, RESYNC)
        # then the count is re-read
        assert counts(await asyncio.wait_for(pending, WAIT)) == (campaign.pk, 1, None)
