from __future__ import annotations

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

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
    # Days an open card may stay here before it rots; null: it never rots here.
    rotting_days: int | None = fields.IntField(null=True)
    # Removed steps stay as rows, so the stage history that names them stays whole.
    removed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "stage"
        ordering = ("position",)
        # The board reads a campaign's steps in order.
        indexes = (("campaign_id", "position"),)


def active_stages(campaign_pk: int) -> QuerySet[Stage]:
    """The campaign's approach steps in board order, removed ones left out."""
    return Stage.filter(campaign_id=campaign_pk, removed_at__isnull=True).order_by("position")
