"""Live streams for one viewer: a campaign's events and chat, and their notifications."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from models import Campaign, CampaignEvent, EventKind, Notification, Permission, User
from realtime import log
from realtime.bus import Bus, current_bus
from realtime.channels import campaign_channel, user_channel
from realtime.streams import follow
from resolvers.access import can_see_campaign
from resolvers.context import Context
from resolvers.errors import BadUserInput, Forbidden, ResyncRequired
from resolvers.event_cursors import decode_event_cursor, decode_notification_cursor
from resolvers.loaders import Loaders

RECHECK_SECONDS = 1.0
CARD_EVENTS = frozenset(
    {
        EventKind.OPPORTUNITY_CREATED,
        EventKind.OPPORTUNITY_UPDATED,
        EventKind.OPPORTUNITY_MOVED,
        EventKind.OPPORTUNITY_ASSIGNED,
        EventKind.OPPORTUNITY_CLOSED,
        EventKind.OPPORTUNITY_REOPENED,
        EventKind.OPPORTUNITY_DELETED,
    }
)


class AccessWatch:
    """Re-checks, before an event goes out, that the viewer may still see the campaign."""

    def __init__(self, context: Context, campaign_pk: int) -> None:
        self._context = context
        self._campaign_pk = campaign_pk
        self._checked_at = 0.0  # the first event is checked: the replay too

    async def check(self, event: CampaignEvent) -> None:
        stale = time.monotonic() - self._checked_at >= RECHECK_SECONDS
        if not stale and event.kind != EventKind.CAMPAIGN_UPDATED:
            return
        self._checked_at = time.monotonic()
        viewer = self._context.viewer
        fresh = None if viewer is None else await User.get_or_none(id=viewer.pk)
        campaign = await Campaign.get_or_none(id=self._campaign_pk)
        self._context.viewer = fresh
        self._context.loaders = Loaders(fresh)
        if fresh is None or campaign is None or not await can_see_campaign(self._context, campaign):
            raise Forbidden("you no longer have access to this campaign")


async def campaign_events(
    context: Context, campaign: Campaign, after: str | None, kinds: frozenset[EventKind] | None
) -> AsyncIterator[CampaignEvent]:
    """The campaign's events (of `kinds`), replayed after the cursor and then live."""
    bus = _bus()
    head = await log.last_seq(campaign.pk)
    start = head if after is None else decode_event_cursor(after, campaign.pk)
    if start > head:
        raise BadUserInput("'after' is ahead of this campaign's log", argument="after")
    if start < head:
        oldest = await log.oldest_kept_seq(campaign.pk)
        if oldest is None or oldest > start + 1:
            raise ResyncRequired(
                "events after this cursor are no longer kept: reload the board and "
                "subscribe with its lastEventCursor"
            )
    watch = AccessWatch(context, campaign.pk)
    async for event in follow(
        bus.hub,
        campaign_channel(campaign.pk),
        lambda seq: log.events_after(campaign.pk, seq),
        _event_seq,
        after=start,
        head=head,
    ):
        await watch.check(event)
        if kinds is not None and event.kind not in kinds:
            continue
        if event.kind in CARD_EVENTS and not context.viewer_can(Permission.OPPORTUNITY_ACCESS):
            continue  # without the opportunity function, cards do not exist for the viewer
        context.loaders = Loaders(context.viewer)
        yield event


async def my_notifications(context: Context, after: str | None) -> AsyncIterator[Notification]:
    viewer = context.require_viewer()
    bus = _bus()
    head = (await User.get(id=viewer.pk)).notification_seq
    start = head if after is None else decode_notification_cursor(after)
    async for row in follow(
        bus.hub,
        user_channel(viewer.pk),
        lambda seq: log.notifications_after(viewer.pk, seq),
        _notification_seq,
        after=min(start, head),
        head=head,
    ):
        context.loaders = Loaders(context.viewer)
        yield row


def _event_seq(row: CampaignEvent) -> int:
    return int(row.seq)


def _notification_seq(row: Notification) -> int:
    return int(row.seq)


def _bus() -> Bus:
    bus = current_bus()
    if bus is None:
        raise RuntimeError("no realtime bus: the app's lifespan opens one")
    return bus
