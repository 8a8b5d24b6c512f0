"""A viewer's unread chat count in one campaign, as myUnreadChat sends it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.types import Info

from resolvers.chat_counts import Unread
from resolvers.context import Context
from resolvers.event_cursors import event_cursor
from schema.lazy_types import lazy_type

if TYPE_CHECKING:
    from schema.campaign import Campaign

LazyCampaign = Annotated["Campaign", strawberry.lazy("schema.campaign")]


@strawberry.type
class ChatUnread:
    unread: strawberry.Private[Unread]

    @strawberry.field
    async def campaign(self, info: Info[Context, None]) -> LazyCampaign:
        campaign = self.unread.campaign  # read with the count
        if campaign is None:
            campaign = await info.context.loaders.campaign_by_id.load(self.unread.campaign_pk)
        assert campaign is not None, "a deleted campaign's counts are not sent"
        return cast("Campaign", lazy_type("schema.campaign", "Campaign").from_model(campaign))

    @strawberry.field
    def unread_count(self) -> int:
        return self.unread.count

    @strawberry.field
    def read_cursor(self) -> str | None:
        seq = self.unread.read_seq
        return None if seq is None else event_cursor(self.unread.campaign_pk, seq)
