from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.campaign import Campaign


class Stage(Model):
    """An approach step: one column of a campaign's Kanban board."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="stages", on_delete=fields.CASCADE
    )
    campaign_id: int
    name = fields.CharField(max_length=200)
    position = fields.IntField()
    probability: int | None = fields.IntField(null=True)

    class Meta:
        table = "stage"
        ordering = ("position",)
