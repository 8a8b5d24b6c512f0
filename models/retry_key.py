from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.user import User


class RetryKey(Model):
    """A mutation's clientMutationId, stored in the mutation's own transaction: a repeat
    within 24 hours gets `result`'s objects instead of a second change."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="retry_keys", on_delete=fields.CASCADE
    )
    user_id: int
    key = fields.CharField(max_length=200)
    operation = fields.CharField(max_length=64)
    fingerprint = fields.CharField(max_length=64)
    result: dict[str, Any] = fields.JSONField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "retry_key"
        unique_together = (("user", "key"),)
