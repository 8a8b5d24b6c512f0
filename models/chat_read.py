from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.campaign import Campaign
    from models.user import User


class ChatRead(Model):
    """How far one user has read one campaign's chat: the seq of the newest message
    they marked read. It only moves forward."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="chat_reads", on_delete=fields.CASCADE
    )
    user_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="chat_reads", on_delete=fields.CASCADE
    )
    campaign_id: int
    seq = fields.BigIntField()

    class Meta:
        table = "chat_read"
        unique_together = (("user", "campaign"),)
