from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.campaign import Campaign


class LossReason(Model):
    """A campaign's managed reason for losing an opportunity (Getfly's failure reason)."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="loss_reasons", on_delete=fields.CASCADE
    )
    campaign_id: int
    name = fields.CharField(max_length=200)
    # The name folded for comparison: names are unique per campaign, whatever their case.
    name_key = fields.CharField(max_length=200)
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "loss_reason"
        unique_together = (("campaign", "name_key"),)
