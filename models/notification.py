from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.campaign import Campaign
    from models.event import ChatMessage
    from models.opportunity import Opportunity
    from models.user import User


class NotificationKind(StrEnum):
    OPPORTUNITY_ADDED = "OPPORTUNITY_ADDED"
    OPPORTUNITY_ASSIGNED = "OPPORTUNITY_ASSIGNED"
    REGISTRATION_OVERDUE = "REGISTRATION_OVERDUE"
    OPPORTUNITY_ROTTING = "OPPORTUNITY_ROTTING"
    NO_ASSIGNEE_AVAILABLE = "NO_ASSIGNEE_AVAILABLE"
    MENTIONED = "MENTIONED"
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"


class Notification(Model):
    """Something one user is told about, never the user who caused it."""

    id = fields.BigIntField(primary_key=True)
    recipient: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    recipient_id: int
    kind = fields.CharEnumField(NotificationKind, max_length=32)
    opportunity: fields.ForeignKeyNullableRelation[Opportunity] = fields.ForeignKeyField(
        "models.Opportunity", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    opportunity_id: int | None
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    campaign_id: int | None
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="caused_notifications", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    chat_message: fields.ForeignKeyNullableRelation[ChatMessage] = fields.ForeignKeyField(
        "models.ChatMessage", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    chat_message_id: int | None
    seq = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("recipient_id", "id"), ("recipient_id", "seq"))
