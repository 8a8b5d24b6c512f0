"""Subscriptions: live boards, chat and the viewer's notifications."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from resolvers import subscriptions
from resolvers.campaigns import get_visible_campaign
from resolvers.context import Context
from schema.chat import ChatMessage
from schema.events import CampaignEvent
from schema.guards import IsAuthenticated
from schema.notification import Notification


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
        campaign = await get_visible_campaign(info.context, campaign_id)
        async for event in subscriptions.campaign_events(info.context, campaign, after, None):
            yield CampaignEvent(row=event)

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Chat messages of one campaign, with the same ordering, resume and access "
        "rules as campaignEvents.",
    )
    async def campaign_chat(
        self, info: Info[Context, None], campaign_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[ChatMessage, None]:
        campaign = await get_visible_campaign(info.context, campaign_id)
        async for message in subscriptions.campaign_chat(info.context, campaign, after):
            yield ChatMessage.from_model(message)

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="The viewer's own notifications (assignments among them), with resume.",
    )
    async def my_notifications(
        self, info: Info[Context, None], after: str | None = None
    ) -> AsyncGenerator[Notification, None]:
        async for row in subscriptions.my_notifications(info.context, after):
            yield Notification.from_model(row)
