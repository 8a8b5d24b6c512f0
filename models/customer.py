from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.user import User


class Customer(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, db_index=True)
    phone = fields.CharField(max_length=50, null=True)
    email = fields.CharField(max_length=254, null=True)
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="owned_customers", null=True, on_delete=fields.SET_NULL
    )
    owner_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer"
