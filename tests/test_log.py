"""realtime/log.py: gap-free seqs in commit order, read per channel kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models import CampaignEvent, EventKind, Notification
from models.notification import NotificationKind
from realtime.after_commit import transaction
from realtime.channels import ChannelGone, campaign_channel, user_channel
from realtime.log import (
    Log,
    append_event,
    events_after,
    last_seq,
    oldest_kept_seq,
    purge_before,
)
from tests.factories import make_campaign, make_user


async def log_of(campaign, kinds: list[EventKind]) -> None:
    async with transaction():
        for kind in kinds:
            await append_event(campaign, kind, None)


async def test_seqs_are_gap_free_and_reads_come_in_seq_order_in_batches(app):
    campaign = await make_campaign(await make_user())
    await log_of(campaign, [EventKind.CHAT_MESSAGE_POSTED, EventKind.CAMPAIGN_UPDATED] * 3)
    assert await last_seq(campaign.pk) == 6
    assert [e.seq for e in await events_after(campaign.pk, 0)] == [1, 2, 3, 4, 5, 6]
    assert [e.seq for e in await events_after(campaign.pk, 4)] == [5, 6]
    assert [e.seq for e in await events_after(campaign.pk, 1, limit=2)] == [2, 3]
    chat = await events_after(campaign.pk, 0, frozenset({EventKind.CHAT_MESSAGE_POSTED}))
    assert [e.seq for e in chat] == [1, 3, 5]


async def test_retention_drops_old_events_and_moves_the_oldest_kept_seq(app):
    campaign = await make_campaign(await make_user())
    await log_of(campaign, [EventKind.CAMPAIGN_UPDATED] * 3)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    await CampaignEvent.filter(campaign_id=campaign.pk, seq__lte=2).update(occurred_at=long_ago)
    assert await oldest_kept_seq(campaign.pk) == 1
    assert await purge_before(datetime.now(UTC) - timedelta(days=1)) == 2
    assert await oldest_kept_seq(campaign.pk) == 3
    assert await last_seq(campaign.pk) == 3  # the seq goes on: no number is reused


async def test_the_log_behind_each_channel_kind(app):
    user = await make_user()
    campaign = await make_campaign(user)
    await log_of(campaign, [EventKind.CAMPAIGN_UPDATED] * 2)
    for seq in (1, 2, 3):
        await Notification.create(
            recipient_id=user.pk, seq=seq, kind=NotificationKind.OPPORTUNITY_ADDED
        )
    log = Log()
    events = await log.rows_after(campaign_channel(campaign.pk), 1)
    assert [log.seq_of(row) for row in events] == [2]
    notifications = await log.rows_after(user_channel(user.pk), 1)
    assert [log.seq_of(row) for row in notifications] == [2, 3]
    with pytest.raises(ValueError, match="no log behind"):
        await log.rows_after("elsewhere:1", 0)


async def test_a_deleted_campaigns_log_says_so_once_it_has_nothing_more(app):
    # given a campaign with one event, read up to its end
    user = await make_user()
    campaign = await make_campaign(user)
    await log_of(campaign, [EventKind.CAMPAIGN_UPDATED])
    log = Log()
    channel = campaign_channel(campaign.pk)
    assert await log.rows_after(channel, 1) == []
    # when the campaign is deleted, then reading past its end raises ChannelGone
    await campaign.delete()
    with pytest.raises(ChannelGone):
        await log.rows_after(channel, 1)
