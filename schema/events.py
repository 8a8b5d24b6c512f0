"""Campaign events as clients receive them: the envelope and one payload type per change.

Payload objects are loaded when the event is sent (the log holds ids only) and
pass through the same visibility rules and field guards as in any query.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

import schema.enums  # noqa: F401  (publishes OpportunityResult)
from models import AssignmentReason, EventKind, OpportunityResult
from models import CampaignEvent as CampaignEventModel
from resolvers.context import Context
from resolvers.event_cursors import event_cursor
from resolvers.ids import encode_id
from resolvers.stage_totals import ColumnTotals
from schema.campaign import Campaign, Stage
from schema.chat import ChatMessage
from schema.opportunity import Opportunity, Order, related_card
from schema.user import User, load_user


def _gid(type_name: str, pk: Any) -> strawberry.ID:
    return strawberry.ID(encode_id(type_name, int(pk)))


async def _stage(info: Info[Context, None], pk: int | None) -> Stage | None:
    stage = None if pk is None else await info.context.loaders.stage_by_id.load(pk)
    return None if stage is None else Stage.from_model(stage)


@strawberry.type
class _CardPayload:
    data: strawberry.Private[dict[str, Any]]

    @strawberry.field
    def opportunity_id(self) -> strawberry.ID:
        return _gid("Opportunity", self.data["opportunity_id"])

    @strawberry.field
    async def opportunity(self, info: Info[Context, None]) -> Opportunity | None:
        return await related_card(info, self.data["opportunity_id"])


@strawberry.type(
    description="Objects inside payloads show their current state; they are null when "
    "deleted since."
)
class OpportunityCreated(_CardPayload):
    pass


@strawberry.type
class OpportunityUpdated(_CardPayload):
    @strawberry.field(
        description='GraphQL field names that changed, e.g. ["probability", "amount"].'
    )
    def changed_fields(self) -> list[str]:
        return list(self.data.get("changed_fields", []))


@strawberry.type
class OpportunityMoved(_CardPayload):
    @strawberry.field
    async def from_stage(self, info: Info[Context, None]) -> Stage | None:
        return await _stage(info, self.data.get("from_stage_id"))

    @strawberry.field
    async def to_stage(self, info: Info[Context, None]) -> Stage | None:
        return await _stage(info, self.data.get("to_stage_id"))

    @strawberry.field(description="The card it now follows in its column; null when first.")
    def after_id(self) -> strawberry.ID | None:
        after = self.data.get("after_id")
        return None if after is None else _gid("Opportunity", after)


@strawberry.type
class OpportunityAssigned(_CardPayload):
    @strawberry.field
    async def previous_owner(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.data.get("previous_owner_id"))

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.data.get("owner_id"))

    @strawberry.field
    def reason(self) -> AssignmentReason:
        # Events logged before reasons were kept: a manager's assignment or a claim.
        return AssignmentReason(self.data.get("reason", AssignmentReason.MANAGER.value))


@strawberry.type
class OpportunityClosed(_CardPayload):
    @strawberry.field
    def result(self) -> OpportunityResult:
        return OpportunityResult(self.data["result"])

    @strawberry.field
    def failure_reason(self) -> str | None:
        reason = self.data.get("failure_reason")
        return None if reason is None else str(reason)

    @strawberry.field
    async def order(self, info: Info[Context, None]) -> Order | None:
        order_id = self.data.get("order_id")
        if order_id is None or await related_card(info, self.data["opportunity_id"]) is None:
            return None
        order = await info.context.loaders.order_by_id.load(order_id)
        return None if order is None else Order.from_model(order)


@strawberry.type
class OpportunityReopened(_CardPayload):
    pass


@strawberry.type
class OpportunityDeleted:
    data: strawberry.Private[dict[str, Any]]

    @strawberry.field
    def opportunity_id(self) -> strawberry.ID:
        return _gid("Opportunity", self.data["opportunity_id"])

    @strawberry.field
    def stage_id(self) -> strawberry.ID:
        return _gid("Stage", self.data["stage_id"])


@strawberry.type
class ChatMessagePosted:
    message: ChatMessage


@strawberry.type
class ChatMessageEdited:
    message: ChatMessage


@strawberry.type
class ChatMessageDeleted:
    message_id: strawberry.ID


@strawberry.type
class CampaignUpdated:
    campaign: Campaign
    changed_fields: list[str] = strawberry.field(
        description='GraphQL field names that changed, e.g. ["participants", "stages"].'
    )


@strawberry.type(
    description="An open card crossed its stage's rottingDays (logged once per stay in a stage)."
)
class OpportunityRotting(_CardPayload):
    @strawberry.field
    def rotting_since(self) -> datetime:
        return datetime.fromisoformat(self.data["rotting_since"])


CampaignEventPayload = Annotated[
    OpportunityCreated
    | OpportunityUpdated
    | OpportunityMoved
    | OpportunityAssigned
    | OpportunityClosed
    | OpportunityReopened
    | OpportunityDeleted
    | ChatMessagePosted
    | CampaignUpdated
    | OpportunityRotting
    | ChatMessageEdited
    | ChatMessageDeleted,
    strawberry.union("CampaignEventPayload"),
]

CARD_PAYLOADS: dict[EventKind, type[_CardPayload]] = {
    EventKind.OPPORTUNITY_CREATED: OpportunityCreated,
    EventKind.OPPORTUNITY_UPDATED: OpportunityUpdated,
    EventKind.OPPORTUNITY_MOVED: OpportunityMoved,
    EventKind.OPPORTUNITY_ASSIGNED: OpportunityAssigned,
    EventKind.OPPORTUNITY_CLOSED: OpportunityClosed,
    EventKind.OPPORTUNITY_REOPENED: OpportunityReopened,
    EventKind.OPPORTUNITY_ROTTING: OpportunityRotting,
}


@strawberry.type(description="The figures of one column, as of one event.")
class StageTotals:
    totals: strawberry.Private[ColumnTotals]

    @strawberry.field
    def stage_id(self) -> strawberry.ID:
        return _gid("Stage", self.totals.stage_id)

    @strawberry.field
    def opportunity_count(self) -> int:
        return self.totals.count

    @strawberry.field
    def total_amount(self) -> Decimal:
        return self.totals.total_amount

    @strawberry.field
    def weighted_amount(self) -> Decimal:
        return self.totals.weighted_amount

    @strawberry.field
    def rotting_count(self) -> int:
        return self.totals.rotting


@strawberry.type(
    description="One entry of a campaign's event log. seq grows by exactly one per event of "
    "the campaign, in commit order."
)
class CampaignEvent:
    row: strawberry.Private[CampaignEventModel]

    @strawberry.field
    def cursor(self) -> str:
        return event_cursor(self.row.campaign_id, self.row.seq)

    @strawberry.field
    def seq(self) -> int:
        return int(self.row.seq)

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.row.occurred_at

    @strawberry.field
    async def actor(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.actor_id)

    @strawberry.field
    def campaign_id(self) -> strawberry.ID:
        return _gid("Campaign", self.row.campaign_id)

    @strawberry.field(
        description="For an event that changes any column's figures (a card created, moved, "
        "updated, assigned, closed, reopened, deleted or rotting): those columns' totals as "
        "of this event's seq, the same on replay as live. Empty otherwise."
    )
    def stage_totals(self) -> list[StageTotals]:
        stored = self.row.data.get("stage_totals", [])
        return [StageTotals(totals=ColumnTotals.from_data(data)) for data in stored]

    @strawberry.field(
        description="The clientMutationId of the mutation that logged this event, so a "
        "client can recognise its own change."
    )
    def client_mutation_id(self) -> str | None:
        key = self.row.data.get("client_mutation_id")
        return None if key is None else str(key)

    @strawberry.field(description="Shared by every event of one bulk mutation.")
    def batch_id(self) -> strawberry.ID | None:
        batch = self.row.data.get("batch_id")
        return None if batch is None else strawberry.ID(str(batch))

    @strawberry.field
    async def payload(self, info: Info[Context, None]) -> CampaignEventPayload:
        payload: CampaignEventPayload = await payload_of(info, self.row)
        return payload


async def payload_of(info: Info[Context, None], event: CampaignEventModel) -> Any:
    data = dict(event.data)
    if event.kind in CARD_PAYLOADS:
        return CARD_PAYLOADS[event.kind](data=data)
    if event.kind == EventKind.OPPORTUNITY_DELETED:
        return OpportunityDeleted(data=data)
    if event.kind == EventKind.CHAT_MESSAGE_DELETED:
        return ChatMessageDeleted(message_id=_gid("ChatMessage", data["message_id"]))
    if event.kind in (EventKind.CHAT_MESSAGE_POSTED, EventKind.CHAT_MESSAGE_EDITED):
        message = await info.context.loaders.chat_message_by_id.load(data["message_id"])
        assert message is not None, "a chat message is deleted with its campaign's log"
        shown = ChatMessage.from_model(message)
        posted = event.kind == EventKind.CHAT_MESSAGE_POSTED
        return ChatMessagePosted(message=shown) if posted else ChatMessageEdited(message=shown)
    campaign = await info.context.loaders.campaign_by_id.load(event.campaign_id)
    assert campaign is not None
    return CampaignUpdated(
        campaign=Campaign.from_model(campaign), changed_fields=list(data.get("changed_fields", []))
    )
