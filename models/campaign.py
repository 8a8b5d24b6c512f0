from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.user import User


class Campaign(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    description: str | None = fields.TextField(null=True)
    manager: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="managed_campaigns", on_delete=fields.RESTRICT
    )
    manager_id: int
    auto_assign = fields.BooleanField(default=False)
    allow_duplicate_opportunities = fields.BooleanField(default=False)
    registration_wait_minutes = fields.IntField(null=True)
    # Taken with UPDATE ... RETURNING by every change that logs an event, which
    # serialises a campaign's writers: event seq order is commit order.
    event_seq = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Set while archived: read-only (resolvers/writes.py) and out of `campaigns`.
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "campaign"


class CampaignMember(Model):
    """A participant of a campaign, in the rotation when rotation_position is set."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="members", on_delete=fields.CASCADE
    )
    campaign_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    user_id: int
    position = fields.IntField()
    rotation_position = fields.IntField(null=True)
    # Automatic assignment (resolvers/assignment.py): a relative share, a cap on open
    # cards (None: none), and whether the member is there to take any.
    weight = fields.IntField(default=1)
    capacity = fields.IntField(null=True)
    available = fields.BooleanField(default=True)

    class Meta:
        table = "campaign_member"
        unique_together = (("campaign", "user"),)
