"""The viewer's notifications: listing them and marking them read."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

import schema.enums  # noqa: F401  (publishes NotificationKind)
from models import Campaign as CampaignModel
from models import Notification as NotificationModel
from models import NotificationKind
from resolvers import notifications
from resolvers.access import can_see_campaign
from resolvers.context import Context
from resolvers.event_cursors import notification_cursor
from resolvers.ids import encode_id
from resolvers.pagination import PageArgs
from schema.campaign import Campaign
from schema.chat import ChatMessage
from schema.guards import IsAuthenticated
from schema.opportunity import Opportunity, related_card
from schema.relay import Connection, Node
from schema.user import User, load_user


@strawberry.type
class Notification(Node):
    row: strawberry.Private[NotificationModel]

    @classmethod
    def from_model(cls, row: NotificationModel) -> Notification:
        return cls(id=strawberry.ID(encode_id("Notification", row.pk)), row=row)

    @strawberry.field
    def kind(self) -> NotificationKind:
        return self.row.kind

    @strawberry.field
    async def opportunity(self, info: Info[Context, None]) -> Opportunity | None:
        return await related_card(info, self.row.opportunity_id)

    @strawberry.field
    async def campaign(self, info: Info[Context, None]) -> Campaign | None:
        campaign = await self._seen_campaign(info)
        return None if campaign is None else Campaign.from_model(campaign)

    async def _seen_campaign(self, info: Info[Context, None]) -> CampaignModel | None:
        """Its campaign, while the viewer may see it."""
        if self.row.campaign_id is None:
            return None
        campaign = await info.context.loaders.campaign_by_id.load(self.row.campaign_id)
        if campaign is None or not await can_see_campaign(info.context, campaign):
            return None
        return campaign

    @strawberry.field
    async def actor(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.actor_id)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The message, for MENTIONED.")
    async def chat_message(self, info: Info[Context, None]) -> ChatMessage | None:
        if self.row.chat_message_id is None or await self._seen_campaign(info) is None:
            return None  # none, or in a campaign the viewer no longer sees
        message = await info.context.loaders.chat_message_by_id.load(self.row.chat_message_id)
        return None if message is None else ChatMessage.from_model(message)

    @strawberry.field
    def read_at(self) -> datetime | None:
        return self.row.read_at

    @strawberry.field(description="Pass it as `after` to myNotifications to resume.")
    def cursor(self) -> str:
        return notification_cursor(self.row.seq)


@strawberry.type
class NotificationQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def notifications(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        unread_only: bool = False,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Notification]:
        page = await notifications.list_notifications(
            info.context.require_viewer(), unread_only, PageArgs(first, after, last, before)
        )
        return Connection.of(page, Notification.from_model)


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Marks the given notifications (all of the viewer's when ids is null) read; "
        "returns how many changed.",
    )
    async def mark_notifications_read(
        self, info: Info[Context, None], ids: list[strawberry.ID] | None = None
    ) -> int:
        return await notifications.mark_read(info.context.require_viewer(), ids)
