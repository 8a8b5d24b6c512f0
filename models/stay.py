from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.opportunity import Opportunity
    from models.stage import Stage


class StayEnd(StrEnum):
    MOVED = "MOVED"
    WON = "WON"
    LOST = "LOST"


class StageStay(Model):
    """One stay of an opportunity in an approach step: from entering it (creation, copy,
    a move from another step, a reopen) to leaving it (a move to another step, won,
    lost). Open while `left_at` is null. Deleted with its opportunity."""

    id = fields.IntField(primary_key=True)
    opportunity: fields.ForeignKeyRelation[Opportunity] = fields.ForeignKeyField(
        "models.Opportunity", related_name="stays", on_delete=fields.CASCADE
    )
    opportunity_id: int
    stage: fields.ForeignKeyRelation[Stage] = fields.ForeignKeyField(
        "models.Stage", related_name="stays", on_delete=fields.CASCADE
    )
    stage_id: int
    entered_at = fields.DatetimeField()
    left_at = fields.DatetimeField(null=True)
    seconds: float | None = fields.FloatField(null=True)
    ended_by = fields.CharEnumField(StayEnd, null=True, max_length=8)

    class Meta:
        table = "stage_stay"
        indexes = (("stage_id", "left_at"), ("opportunity_id", "entered_at"))
