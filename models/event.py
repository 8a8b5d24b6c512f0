"""The campaign event log, and the chat messages it carries."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.campaign import Campaign
    from models.user import User


class EventKind(StrEnum):
    OPPORTUNITY_CREATED = "OpportunityCreated"
    OPPORTUNITY_UPDATED = "OpportunityUpdated"
    OPPORTUNITY_MOVED = "OpportunityMoved"
    OPPORTUNITY_ASSIGNED = "OpportunityAssigned"
    OPPORTUNITY_CLOSED = "OpportunityClosed"
    OPPORTUNITY_REOPENED = "OpportunityReopened"
    OPPORTUNITY_DELETED = "OpportunityDeleted"
    CHAT_MESSAGE_POSTED = "ChatMessagePosted"
    CHAT_MESSAGE_EDITED = "ChatMessageEdited"
    CHAT_MESSAGE_DELETED = "ChatMessageDeleted"
    CAMPAIGN_UPDATED = "CampaignUpdated"
    OPPORTUNITY_ROTTING = "OpportunityRotting"


# The events of one card: their payloads name it (and it counts in its columns' totals).
CARD_EVENTS = frozenset(
    {
        EventKind.OPPORTUNITY_CREATED,
        EventKind.OPPORTUNITY_UPDATED,
        EventKind.OPPORTUNITY_MOVED,
        EventKind.OPPORTUNITY_ASSIGNED,
        EventKind.OPPORTUNITY_CLOSED,
        EventKind.OPPORTUNITY_REOPENED,
        EventKind.OPPORTUNITY_DELETED,
        EventKind.OPPORTUNITY_ROTTING,
    }
)


class AssignmentReason(StrEnum):
    """Why an OpportunityAssigned event's card got its owner (stored in its data)."""

    CREATOR = "CREATOR"
    CHOSEN = "CHOSEN"
    CLAIMED = "CLAIMED"
    MANAGER = "MANAGER"
    ROUND_ROBIN = "ROUND_ROBIN"
    HANDOVER = "HANDOVER"
    REBALANCE = "REBALANCE"


class CampaignEvent(Model):
    """One change to a campaign, numbered gap-free per campaign in commit order."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="events", on_delete=fields.CASCADE
    )
    campaign_id: int
    seq = fields.BigIntField()
    kind = fields.CharEnumField(EventKind, max_length=32)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="campaign_events", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    occurred_at = fields.DatetimeField(auto_now_add=True)
    # Ids and names only: payload objects are loaded fresh when the event is sent.
    data: dict[str, Any] = fields.JSONField(default=dict)

    class Meta:
        table = "campaign_event"
        unique_together = (("campaign", "seq"),)


class ChatMessage(Model):
    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="chat_messages", on_delete=fields.CASCADE
    )
    campaign_id: int
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="chat_messages", on_delete=fields.CASCADE
    )
    author_id: int
    body = fields.TextField()  # empty once deleted
    created_at = fields.DatetimeField(auto_now_add=True)
    seq = fields.BigIntField()
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    # The users it mentions (each told with a MENTIONED notification), in the order named.
    mention_ids: list[int] = fields.JSONField(default=list)

    class Meta:
        table = "chat_message"
        unique_together = (("campaign", "seq"),)
