"""Campaign chat: the ChatMessage type, its history connection and postChatMessage."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.types import Info

from models import ChatMessage as ChatMessageModel
from resolvers import chat
from resolvers.context import Context
from resolvers.event_cursors import event_cursor
from resolvers.ids import encode_id
from schema.guards import CanPostInCampaign, IsAuthenticated, campaign_of_input
from schema.lazy_types import lazy_type
from schema.relay import Node, PageInfo
from schema.retry_safe import KEY_DESCRIPTION, retry_safe, row_answer
from schema.user import User, load_user

if TYPE_CHECKING:
    from schema.campaign import Campaign

# schema/campaign.py imports this module: Campaign is annotated lazily, built through
# schema/lazy_types.py.
LazyCampaign = Annotated["Campaign", strawberry.lazy("schema.campaign")]


@strawberry.type
class ChatMessage(Node):
    row: strawberry.Private[ChatMessageModel]

    @classmethod
    def from_model(cls, row: ChatMessageModel) -> ChatMessage:
        return cls(id=strawberry.ID(encode_id("ChatMessage", row.pk)), row=row)

    @strawberry.field
    async def campaign(self, info: Info[Context, None]) -> LazyCampaign:
        campaign = await info.context.loaders.campaign_by_id.load(self.row.campaign_id)
        assert campaign is not None, "messages are deleted with their campaign"
        return cast("Campaign", lazy_type("schema.campaign", "Campaign").from_model(campaign))

    @strawberry.field
    async def author(self, info: Info[Context, None]) -> User:
        author = await load_user(info, self.row.author_id)
        assert author is not None, "messages are deleted with their author"
        return author

    @strawberry.field
    def body(self) -> str:
        return self.row.body

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(
        description="Position in the campaign's event log: pass it as `after` to campaignChat."
    )
    def cursor(self) -> str:
        return event_cursor(self.row.campaign_id, self.row.seq)


@strawberry.type
class ChatMessageEdge:
    node: ChatMessage
    cursor: str


@strawberry.type
class ChatMessageConnection:
    edges: list[ChatMessageEdge]
    page_info: PageInfo

    @classmethod
    def of(
        cls, rows: list[ChatMessageModel], has_older: bool, before: bool
    ) -> ChatMessageConnection:
        cursors = [event_cursor(row.campaign_id, row.seq) for row in rows]
        return cls(
            edges=[
                ChatMessageEdge(node=ChatMessage.from_model(row), cursor=cursor)
                for row, cursor in zip(rows, cursors, strict=True)
            ],
            page_info=PageInfo(
                has_next_page=before,
                has_previous_page=has_older,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
            ),
        )


@strawberry.input
class PostChatMessageInput:
    campaign_id: strawberry.ID
    body: str = strawberry.field(description="1 to 4000 characters, not blank.")
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type
class ChatMutation:
    @strawberry.mutation(
        extensions=retry_safe(row_answer("ChatMessage"), IsAuthenticated, CanPostInCampaign),
    )
    async def post_chat_message(
        self, info: Info[Context, None], input: PostChatMessageInput
    ) -> ChatMessage:
        campaign = await campaign_of_input(info.context, input)
        message = await chat.post_message(campaign, info.context.require_viewer(), input.body)
        return ChatMessage.from_model(message)
