"""Live streams for one viewer: a campaign's events and chat, and their notifications."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, cast

from models import (
    Campaign,
    CampaignEvent,
    CampaignMember,
    ChatMessage,
    EventKind,
    Notification,
    Permission,
    User,
)
from models.database import until_reachable
from models.event import CARD_EVENTS
from realtime import log
from realtime.bus import Bus
from realtime.channels import ChannelGone, campaign_channel, user_channel
from realtime.shared_task import SharedTask
from realtime.streams import follow
from resolvers.access import sees_campaign
from resolvers.context import Context
from resolvers.errors import BadUserInput, Forbidden, ResyncRequired, not_found
from resolvers.event_cursors import decode_event_cursor, decode_notification_cursor
from resolvers.ids import encode_id
from resolvers.shared_reads import Missing, SharedReads
from resolvers.viewers import (
    RECHECK_SECONDS,
    forget_viewers,
    fresh_users,
    fresh_viewer,
    known_viewer,
)

CHAT = frozenset({EventKind.CHAT_MESSAGE_POSTED})


@dataclass(frozen=True, slots=True)
class _Access:
    """Who may see a campaign, as of its event `seq`: shared by every stream in the process."""

    manager_pk: int | None
    members: frozenset[int]
    seq: int
    exists: bool = True


def _same_access(old: _Access, new: _Access) -> bool:
    """The same people may see the campaign (its seq may have moved on: a kept value
    stays as of its older seq, which only ever asks for a read sooner)."""
    return (old.manager_pk, old.members, old.exists) == (new.manager_pk, new.members, new.exists)


_campaign_access: SharedReads[_Access] = SharedReads(RECHECK_SECONDS, same=_same_access)


def forget_access() -> None:
    """Drop the access caches (a new app's lifespan starts from nothing)."""
    _campaign_access.clear()
    forget_viewers()


async def campaign_access(campaign_pk: int, at_least_seq: int) -> _Access:
    """The campaign's manager and participants, re-read when stale or older than a seq."""
    return await _campaign_access.get(
        campaign_pk,
        partial(_read_access, campaign_pk),
        lambda known: known.seq >= at_least_seq,
    )


async def _read_access(campaign_pk: int) -> _Access:
    campaign = await Campaign.get_or_none(id=campaign_pk)
    members = await CampaignMember.filter(campaign_id=campaign_pk).values_list("user_id", flat=True)
    return _Access(
        campaign.manager_id if campaign else None,
        frozenset(cast("list[int]", members)),
        int(campaign.event_seq) if campaign else 0,
        campaign is not None,
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """What, besides seeing the campaign, can make an event's answer differ between
    two viewers (see schema/live_groups.py)."""

    opportunity_access: bool
    view_all: bool
    manager: bool
    participant: bool


@dataclass(frozen=True, slots=True)
class Seen:
    """An event a viewer may see, with the viewer's scope as of that event."""

    event: CampaignEvent
    scope: Scope


# The viewers of each campaign's streams in this process (how many streams each).
_watchers: dict[int, Counter[int]] = {}


@contextmanager
def _watching(campaign_pk: int, viewer: User | None) -> Iterator[None]:
    """`viewer` has a stream on the campaign while the block runs."""
    watchers = _watchers.setdefault(campaign_pk, Counter())
    if viewer is not None:
        watchers[viewer.pk] += 1
    try:
        yield
    finally:
        if viewer is not None:
            watchers[viewer.pk] -= 1
            if watchers[viewer.pk] <= 0:
                del watchers[viewer.pk]
        if not watchers and _watchers.get(campaign_pk) is watchers:
            del _watchers[campaign_pk]


async def _prepare_watchers(campaign_pk: int) -> None:
    """What every AccessWatch of the campaign judges from, made fresh before its new
    events are offered (realtime/hub.py): the campaign's access and, in one batch, the
    viewers whose rows went stale. After a quiet second each of 10,000 streams would
    otherwise be woken to wait for those reads, and woken again once they are in."""
    stale = [pk for pk in _watchers.get(campaign_pk, ()) if isinstance(known_viewer(pk), Missing)]
    reads: list[Awaitable[Any]] = [fresh_users(stale)] if stale else []
    if isinstance(_campaign_access.known(campaign_pk), Missing):
        reads.append(campaign_access(campaign_pk, 0))
    if reads:
        await asyncio.gather(*reads)


class AccessWatch:
    """Re-checks, before each event goes out, that the viewer may still see the campaign.

    Membership changes log a CampaignUpdated event, which forces a re-read at
    that seq; otherwise reads are shared per process and at most a second old.
    """

    __slots__ = ("_campaign_pk", "_context", "_judged")

    def __init__(self, context: Context, campaign_pk: int) -> None:
        self._context = context
        self._campaign_pk = campaign_pk
        # The last reads this watch judged, and its verdict: the same shared reads
        # (nearly every event) give the same scope without computing it again.
        self._judged: tuple[User | None, _Access | None, Scope | None] = (None, None, None)

    def known(self, event: CampaignEvent) -> Scope | None:
        """The viewer's scope from the reads this process holds, with no await; None
        when something must be read first (then `check`)."""
        viewer = self._context.viewer
        if viewer is None or event.kind == EventKind.CAMPAIGN_UPDATED:
            return None
        fresh = known_viewer(viewer.pk)
        access = _campaign_access.known(self._campaign_pk)
        if isinstance(fresh, Missing) or isinstance(access, Missing):
            return None
        seen_viewer, seen_access, scope = self._judged
        if fresh is seen_viewer and access is seen_access and fresh is viewer:
            return scope
        return None

    async def check(self, event: CampaignEvent) -> Scope:
        # A CampaignUpdated event may change membership: access as of its seq at least.
        updated = event.kind == EventKind.CAMPAIGN_UPDATED
        return await self.check_at(int(event.seq) if updated else 0)

    async def check_at(self, at_least: int) -> Scope:
        """The viewer's scope with access as of event seq `at_least` at least;
        FORBIDDEN once they may not see the campaign."""
        viewer = self._context.viewer
        fresh = None
        if viewer is not None:
            read_viewer = partial(fresh_viewer, viewer.pk)
            fresh = await until_reachable(read_viewer, "re-reading a viewer")
        read_access = partial(campaign_access, self._campaign_pk, at_least)
        access = await until_reachable(read_access, "re-reading campaign access")
        if fresh is not viewer:
            self._context.viewer = fresh
        if fresh is None or not sees_campaign(fresh, access.manager_pk, access.members):
            raise Forbidden("you no longer have access to this campaign")
        scope = Scope(
            opportunity_access=fresh.can(Permission.OPPORTUNITY_ACCESS),
            view_all=fresh.can(Permission.VIEW_ALL),
            manager=fresh.pk == access.manager_pk,
            participant=fresh.pk in access.members,
        )
        self._judged = (fresh, access, scope)
        return scope


async def campaign_events(
    context: Context, campaign: Campaign, after: str | None, kinds: frozenset[EventKind] | None
) -> AsyncIterator[CampaignEvent]:
    """The campaign's events (of `kinds`), replayed after the cursor and then live."""
    async for seen in campaign_events_seen(context, campaign.pk, after, kinds):
        yield seen.event


class Direct(Protocol):
    """How a stream's live events reach its socket without the stream: each is executed
    once for its group (schema/live_delivery.py)."""

    def running(self, event: CampaignEvent, scope: Scope) -> SharedTask[Any] | None:
        """The execution already started for `event` as a viewer of `scope` is shown it."""
        ...

    def served(self, event: CampaignEvent, scope: Scope) -> bool:
        """True when that execution's answer was sent, now, with no await; False when the
        stream must see to it."""
        ...


async def campaign_events_seen(
    context: Context,
    campaign_pk: int,
    after: str | None,
    kinds: frozenset[EventKind] | None,
    direct: Direct | None = None,
) -> AsyncIterator[Seen]:
    """campaign_events, each with the viewer's scope as of that event. With `direct`,
    the stream is woken for a live event once its execution is done, and not at all
    when the event could be sent or skipped without it (realtime/hub.py)."""
    bus = stream_bus(context)
    head = await log.last_seq(campaign_pk)
    start = head if after is None else decode_event_cursor(after, campaign_pk)
    if start > head:
        raise BadUserInput("'after' is ahead of this campaign's log", argument="after")
    if start < head:
        oldest = await log.oldest_kept_seq(campaign_pk)
        if oldest is None or oldest > start + 1:
            raise ResyncRequired(
                "events after this cursor are no longer kept: reload the board and "
                "subscribe with its lastEventCursor"
            )
    watch = AccessWatch(context, campaign_pk)

    def pending(event: CampaignEvent) -> SharedTask[Any] | None:
        scope = watch.known(event)
        if direct is None or scope is None or not _shown(event, scope, kinds):
            return None
        return direct.running(event, scope)

    def deliver(event: CampaignEvent) -> bool:
        # What the loop below and its consumer do with an event, when it needs no await.
        scope = watch.known(event)
        if direct is None or scope is None:
            return False
        return not _shown(event, scope, kinds) or direct.served(event, scope)

    channel = campaign_channel(campaign_pk)
    events = follow(
        bus.hub,
        channel,
        after=start,
        head=head,
        pending=pending if direct else None,
        deliver=deliver if direct else None,
        prepare=partial(_prepare_watchers, campaign_pk),
    )
    try:
        with _watching(campaign_pk, context.viewer):
            async for event in events:
                scope = watch.known(event) or await watch.check(event)
                if _shown(event, scope, kinds):
                    yield Seen(event, scope)
    except ChannelGone:
        raise not_found("Campaign", encode_id("Campaign", campaign_pk)) from None


def _shown(event: CampaignEvent, scope: Scope, kinds: frozenset[EventKind] | None) -> bool:
    if kinds is not None and event.kind not in kinds:
        return False
    # Without the opportunity function, cards do not exist for the viewer.
    return event.kind not in CARD_EVENTS or scope.opportunity_access


async def chat_message_of(event: CampaignEvent) -> ChatMessage:
    """The message a ChatMessagePosted event names (waiting out a database outage)."""
    load = partial(ChatMessage.get, id=int(event.data["message_id"]))
    return await until_reachable(load, "loading a chat message")


async def my_notifications(context: Context, after: str | None) -> AsyncIterator[Notification]:
    viewer = context.require_viewer()
    bus = stream_bus(context)
    head = (await User.get(id=viewer.pk)).notification_seq
    start = head if after is None else decode_notification_cursor(after)
    channel = user_channel(viewer.pk)
    async for row in follow(bus.hub, channel, after=min(start, head), head=head):
        yield row


def stream_bus(context: Context) -> Bus:
    bus = context.bus
    if bus is None:
        raise RuntimeError("no realtime bus: the app's lifespan opens one")
    return bus
