"""Subscriptions: live boards, chat, presence, the viewer's notifications and unread counts.

Each stream has an event executed once per group of subscribers whose answers
cannot differ (schema/live_groups.py): the first of a group to reach it yields it to
be executed, the others send that execution's frame (schema/live_delivery.py), most of
them from where it finished, while their stream waits (realtime/hub.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import strawberry
from strawberry.types import Info

from models import CampaignEvent as CampaignEventModel
from models import EventKind
from models import Notification as NotificationModel
from realtime import metrics
from realtime.channels import campaign_channel, presence_channel, user_channel
from resolvers import chat_unread, presence, subscriptions
from resolvers.campaigns import get_visible_campaign
from resolvers.context import Context
from resolvers.subscriptions import CHAT, Seen, stream_bus
from schema.chat import ChatMessage
from schema.chat_unread import ChatUnread
from schema.events import CampaignEvent
from schema.guards import IsAuthenticated
from schema.live_delivery import Delivery
from schema.live_groups import Execution, SharedEvent
from schema.notification import Notification
from schema.presence import CampaignPresence

PRESENCE = "presence"  # the scope of a presence answer: the same for every viewer


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Every event of one campaign's board, in seq order, with no gap and no "
        "duplicate. With `after`, first replays every event after that cursor, then goes live. "
        "A cursor older than the retained log ends the stream with RESYNC_REQUIRED. Refused "
        "with NOT_FOUND when the viewer may not see the campaign; ends with FORBIDDEN as soon "
        "as the viewer loses access.",
    )
    async def campaign_events(
        self, info: Info[Context, None], campaign_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[CampaignEvent, None]:
        context, delivery = info.context, Delivery(info)
        del info  # a stream keeps none of its start's executor (schema/live_operation.py)
        with metrics.subscription("campaignEvents"):
            async for event in _campaign_stream(
                context, delivery, campaign_id, after, None, _event
            ):
                # The annotation names the GraphQL type; what executes it is the SharedEvent.
                yield event  # type: ignore[misc]

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Chat messages of one campaign, with the same ordering, resume and access "
        "rules as campaignEvents.",
    )
    async def campaign_chat(
        self, info: Info[Context, None], campaign_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[ChatMessage, None]:
        context, delivery = info.context, Delivery(info)
        del info
        with metrics.subscription("campaignChat"):
            async for event in _campaign_stream(
                context, delivery, campaign_id, after, CHAT, _message
            ):
                yield event  # type: ignore[misc]

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="The viewer's own notifications (assignments among them), with resume.",
    )
    async def my_notifications(
        self, info: Info[Context, None], after: str | None = None
    ) -> AsyncGenerator[Notification, None]:
        context, delivery = info.context, Delivery(info)
        del info
        viewer = context.require_viewer()
        channel = user_channel(viewer.pk)
        with metrics.subscription("myNotifications"):
            async for row in subscriptions.my_notifications(context, after):
                load = partial(_notification, row)
                event = SharedEvent(channel, int(row.seq), None, viewer.pk, load, delivery.group)
                if not await delivery.sent(event):
                    yield event  # type: ignore[misc]

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Who is on the campaign now: sent on subscribing and on every change, "
        "across every server process. A subscriber counts as VIEWING while subscribed, and "
        "TYPING while its setTyping(true) is under 5 s old; several tabs of one user count "
        "once (TYPING wins). A server process that dies takes its viewers away within 30 s. "
        "Never written to the event log.",
    )
    async def campaign_presence(
        self, info: Info[Context, None], campaign_id: strawberry.ID
    ) -> AsyncGenerator[CampaignPresence, None]:
        context, delivery = info.context, Delivery(info)
        del info
        campaign = await get_visible_campaign(context, campaign_id)
        channel = presence_channel(campaign.pk)
        viewer_pk = context.require_viewer().pk
        with metrics.subscription("campaignPresence"):
            async for shown in presence.campaign_presence(context, campaign):
                # Everyone who may see the campaign is shown the same people: one scope.
                load = partial(_presence, campaign.pk, shown)
                event = SharedEvent(
                    channel, shown.version, PRESENCE, viewer_pk, load, delivery.group
                )
                if not await delivery.sent(event):
                    yield event  # type: ignore[misc]

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="The viewer's unread chat counts: on subscribing, one per campaign with "
        "unread messages; then one whenever a count changes (a message by someone else, an "
        "edit or deletion, a markChatRead on any of the viewer's devices).",
    )
    async def my_unread_chat(self, info: Info[Context, None]) -> AsyncGenerator[ChatUnread, None]:
        context = info.context
        del info
        with metrics.subscription("myUnreadChat"):
            async for unread in chat_unread.my_unread(
                context.require_viewer(), stream_bus(context)
            ):
                yield ChatUnread(unread=unread)


async def _campaign_stream(
    context: Context,
    delivery: Delivery,
    campaign_id: strawberry.ID,
    after: str | None,
    kinds: frozenset[EventKind] | None,
    root: Callable[[CampaignEventModel], Awaitable[Any]],
) -> AsyncIterator[SharedEvent]:
    """A campaign's events (of `kinds`) for this subscriber to execute: those whose
    group's frame it could not send (or have sent) without executing them."""
    campaign_pk = (await get_visible_campaign(context, campaign_id)).pk
    context.forget_reads()  # what the start read: its events read their own rows
    channel = campaign_channel(campaign_pk)
    direct = _Direct(delivery, channel, context.viewer.pk if context.viewer else None)
    seen_events = subscriptions.campaign_events_seen(context, campaign_pk, after, kinds, direct)
    async for seen in seen_events:
        event = _shared(context, delivery, channel, seen, partial(root, seen.event))
        if not await delivery.sent(event):
            yield event


def _shared(
    context: Context,
    delivery: Delivery,
    channel: str,
    seen: Seen,
    load: Callable[[], Awaitable[Any]],
) -> SharedEvent:
    viewer = context.viewer
    viewer_pk = viewer.pk if viewer else None
    return SharedEvent(channel, int(seen.event.seq), seen.scope, viewer_pk, load, delivery.group)


class _Direct:
    """A campaign stream's events sent to its socket without the stream (see _shared)."""

    __slots__ = ("channel", "delivery", "viewer_pk")

    def __init__(self, delivery: Delivery, channel: str, viewer_pk: int | None) -> None:
        self.delivery, self.channel, self.viewer_pk = delivery, channel, viewer_pk

    def running(self, event: CampaignEventModel, scope: subscriptions.Scope) -> Execution | None:
        return self.delivery.running(self.channel, int(event.seq), scope, self.viewer_pk)

    def served(self, event: CampaignEventModel, scope: subscriptions.Scope) -> bool:
        return self.delivery.served(self.channel, int(event.seq), scope, self.viewer_pk)


async def _event(row: CampaignEventModel) -> CampaignEvent:
    return CampaignEvent(row=row)


async def _message(row: CampaignEventModel) -> ChatMessage:
    return ChatMessage.from_model(await subscriptions.chat_message_of(row))


async def _presence(campaign_pk: int, shown: presence.Shown) -> CampaignPresence:
    return CampaignPresence.of(campaign_pk, shown.entries)


async def _notification(row: NotificationModel) -> Notification:
    return Notification.from_model(row)
