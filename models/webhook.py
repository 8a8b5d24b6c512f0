from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.campaign import Campaign
    from models.user import User


class Webhook(Model):
    """A campaign's outbound webhook: its events after `delivered_seq` (of `event_types`,
    all when empty) are POSTed to `url` in seq order (realtime/webhook_worker.py).

    A process working on it holds it until `lease_until` (once over: when it was let go);
    a failing delivery holds the next ones until `next_attempt_at`, and since
    `failing_since`."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="webhooks", on_delete=fields.CASCADE
    )
    campaign_id: int
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="webhooks", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    url = fields.CharField(max_length=2048)
    event_types: list[str] = fields.JSONField(default=list)
    secret = fields.CharField(max_length=100)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_seq = fields.BigIntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    failing_since = fields.DatetimeField(null=True)
    failures = fields.IntField(default=0)  # attempts failed in a row: the backoff's exponent
    lease_until = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "webhook"
        indexes = (("campaign_id", "id"), ("active", "next_attempt_at"))


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class WebhookDelivery(Model):
    """One event's delivery to one webhook, with its attempts so far."""

    id = fields.BigIntField(primary_key=True)
    webhook: fields.ForeignKeyRelation[Webhook] = fields.ForeignKeyField(
        "models.Webhook", related_name="deliveries", on_delete=fields.CASCADE
    )
    webhook_id: int
    seq = fields.BigIntField()
    event_type = fields.CharField(max_length=32)
    status = fields.CharEnumField(WebhookDeliveryStatus, max_length=16)
    attempts = fields.IntField(default=0)
    last_status_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_delivery"
        unique_together = (("webhook", "seq"),)
