"""Campaign chat: the ChatMessage type, its history connection, and posting, editing,
deleting and marking messages read."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.types import Info

from models import Campaign as CampaignModel
from models import ChatMessage as ChatMessageModel
from resolvers import chat
from resolvers.access import can_see_campaign
from resolvers.context import Context
from resolvers.errors import not_found
from resolvers.event_cursors import event_cursor
from resolvers.ids import decode_any, encode_id
from schema.guards import CanPostInCampaign, IsAuthenticated, campaign_of_input, visible_campaign
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

    @strawberry.field(description="Set when its author edited the body.")
    def edited_at(self) -> datetime | None:
        return self.row.edited_at

    @strawberry.field(description="Set when deleted; the body is then empty.")
    def deleted_at(self) -> datetime | None:
        return self.row.deleted_at

    @strawberry.field(
        description="Users mentioned in the message (each got a MENTIONED notification)."
    )
    async def mentions(self, info: Info[Context, None]) -> list[User]:
        users = [await load_user(info, pk) for pk in self.row.mention_ids]
        return [user for user in users if user is not None]


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
    mention_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Users to notify (MENTIONED); each must be the manager or a participant, "
        "else BAD_USER_INPUT.",
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class EditChatMessageInput:
    id: strawberry.ID
    body: str


@strawberry.type
class ChatMutation:
    @strawberry.mutation(
        extensions=retry_safe(row_answer("ChatMessage"), IsAuthenticated, CanPostInCampaign),
    )
    async def post_chat_message(
        self, info: Info[Context, None], input: PostChatMessageInput
    ) -> ChatMessage:
        campaign = await campaign_of_input(info.context, input)
        message = await chat.post_message(
            campaign, info.context.require_viewer(), input.body, input.mention_ids or ()
        )
        return ChatMessage.from_model(message)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The author, within the body limits of postChatMessage.",
    )
    async def edit_chat_message(
        self, info: Info[Context, None], input: EditChatMessageInput
    ) -> ChatMessage:
        message, _ = await _visible_message(info.context, input.id)
        edited = await chat.edit_message(message, info.context.require_viewer(), input.body)
        return ChatMessage.from_model(edited)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The author or the campaign's manager.",
    )
    async def delete_chat_message(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ChatMessage:
        message, campaign = await _visible_message(info.context, id)
        deleted = await chat.delete_message(message, campaign, info.context.require_viewer())
        return ChatMessage.from_model(deleted)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Moves the viewer's read marker up to that message's cursor (never "
        "backwards); returns the campaign.",
    )
    async def mark_chat_read(
        self, info: Info[Context, None], campaign_id: strawberry.ID, up_to: str
    ) -> LazyCampaign:
        campaign = await visible_campaign(info.context, campaign_id)
        await chat.mark_read(campaign, info.context.require_viewer(), up_to)
        return cast("Campaign", lazy_type("schema.campaign", "Campaign").from_model(campaign))


async def _visible_message(
    context: Context, global_id: str
) -> tuple[ChatMessageModel, CampaignModel]:
    """The message and its campaign, when the viewer may see it; else NOT_FOUND."""
    decoded = decode_any(global_id)
    message = None
    if decoded is not None and decoded[0] == "ChatMessage":
        message = await context.loaders.chat_message_by_id.load(decoded[1])
    campaign = (
        None if message is None else await context.loaders.campaign_by_id.load(message.campaign_id)
    )
    if message is None or campaign is None or not await can_see_campaign(context, campaign):
        raise not_found("ChatMessage", global_id)
    return message, campaign
