from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.campaign import Campaign
    from models.customer import Customer
    from models.loss_reason import LossReason
    from models.stage import Stage
    from models.user import User


class OpportunityResult(StrEnum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"


class OpportunitySource(StrEnum):
    COMPANY_DATA = "COMPANY_DATA"
    CAMPAIGN = "CAMPAIGN"
    WEB_FORM = "WEB_FORM"
    REFERRAL = "REFERRAL"
    IMPORT = "IMPORT"
    OTHER = "OTHER"


class Opportunity(Model):
    """One customer inside one campaign: a card of the Kanban board."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="opportunities", on_delete=fields.CASCADE
    )
    campaign_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="opportunities", on_delete=fields.CASCADE
    )
    customer_id: int
    stage: fields.ForeignKeyRelation[Stage] = fields.ForeignKeyField(
        "models.Stage", related_name="opportunities", on_delete=fields.RESTRICT
    )
    stage_id: int
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="owned_opportunities", null=True, on_delete=fields.SET_NULL
    )
    owner_id: int | None
    name = fields.CharField(max_length=200)
    probability: int = fields.IntField(default=0)
    amount = fields.DecimalField(max_digits=16, decimal_places=2, null=True)
    source = fields.CharEnumField(OpportunitySource, default=OpportunitySource.COMPANY_DATA)
    result = fields.CharEnumField(OpportunityResult, default=OpportunityResult.OPEN)
    failure_reason: str | None = fields.TextField(null=True)
    # A fractional index compared as bytes (COLLATE "C" on PostgreSQL).
    rank = fields.CharField(max_length=255)
    version = fields.IntField(default=1)
    registration_deadline = fields.DatetimeField(null=True)
    overdue_notified = fields.BooleanField(default=False)
    copied_from: fields.ForeignKeyNullableRelation[Opportunity] = fields.ForeignKeyField(
        "models.Opportunity", related_name="copies", null=True, on_delete=fields.SET_NULL
    )
    copied_from_id: int | None
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="created_opportunities", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    closed_at = fields.DatetimeField(null=True)
    # The start of the current stay in its step (models/stay.py); filled for every row,
    # null in the schema only so that the migration could add it to existing rows.
    stage_entered_at = fields.DatetimeField(null=True)
    # The stay (its stage_entered_at) whose rotting was logged: once per card per stay.
    rotting_logged_for = fields.DatetimeField(null=True)
    expected_close_at = fields.DatetimeField(null=True)
    loss_reason: fields.ForeignKeyNullableRelation[LossReason] = fields.ForeignKeyField(
        "models.LossReason", related_name="opportunities", null=True, on_delete=fields.SET_NULL
    )
    loss_reason_id: int | None

    class Meta:
        table = "opportunity"
        indexes = (("stage_id", "rank"), ("campaign_id", "customer_id"))


class StageChange(Model):
    """One stage change of an opportunity, its first placement included."""

    id = fields.IntField(primary_key=True)
    opportunity: fields.ForeignKeyRelation[Opportunity] = fields.ForeignKeyField(
        "models.Opportunity", related_name="stage_changes", on_delete=fields.CASCADE
    )
    opportunity_id: int
    from_stage: fields.ForeignKeyNullableRelation[Stage] = fields.ForeignKeyField(
        "models.Stage", related_name="changes_from", null=True, on_delete=fields.SET_NULL
    )
    from_stage_id: int | None
    to_stage: fields.ForeignKeyNullableRelation[Stage] = fields.ForeignKeyField(
        "models.Stage", related_name="changes_to", null=True, on_delete=fields.SET_NULL
    )
    to_stage_id: int | None
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="stage_changes", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    at = fields.DatetimeField(auto_now_add=True)
    # The length of the stay this change ended; null for the first placement.
    seconds_in_from_stage: float | None = fields.FloatField(null=True)

    class Meta:
        table = "stage_change"
