"""What happens around an opportunity: communications, orders and tasks."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.campaign import Campaign
    from models.customer import Customer
    from models.opportunity import Opportunity
    from models.user import User


class CommunicationKind(StrEnum):
    CALL = "CALL"
    EMAIL = "EMAIL"
    SMS = "SMS"
    MEETING = "MEETING"
    NOTE = "NOTE"


class Communication(Model):
    """A call, email, meeting... with a customer, logged on one of its opportunities."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(CommunicationKind)
    content = fields.TextField()
    occurred_at = fields.DatetimeField()
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="communications", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="communications", on_delete=fields.CASCADE
    )
    customer_id: int
    opportunity: fields.ForeignKeyNullableRelation[Opportunity] = fields.ForeignKeyField(
        "models.Opportunity", related_name="communications", null=True, on_delete=fields.SET_NULL
    )
    opportunity_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "communication"
        indexes = (("customer_id", "occurred_at"),)


class Order(Model):
    id = fields.IntField(primary_key=True)
    amount = fields.DecimalField(max_digits=16, decimal_places=2)
    note: str | None = fields.TextField(null=True)
    opportunity: fields.ForeignKeyRelation[Opportunity] = fields.ForeignKeyField(
        "models.Opportunity", related_name="orders", on_delete=fields.CASCADE
    )
    opportunity_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="orders", on_delete=fields.CASCADE
    )
    customer_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="orders", on_delete=fields.CASCADE
    )
    campaign_id: int
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="created_orders", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "order"


class Task(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=500)
    due_at = fields.DatetimeField(null=True)
    done = fields.BooleanField(default=False)
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    assignee_id: int | None
    opportunity: fields.ForeignKeyRelation[Opportunity] = fields.ForeignKeyField(
        "models.Opportunity", related_name="tasks", on_delete=fields.CASCADE
    )
    opportunity_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "task"
