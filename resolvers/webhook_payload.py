"""What a webhook receives for one event: the JSON body and its Standard Webhooks headers.

The body is `{type, cursor, seq, campaignId, occurredAt, actorId, data}`. `data` holds
the event's own fields (ids as global IDs) and, for a card's event, `opportunity`: the
card's unguarded fields as they are when the delivery is made (null once it is deleted).
Nothing guarded goes out: no customer contact field, no chat text, no user's email.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook as Signer

from models import CampaignEvent, EventKind, Opportunity
from models.event import CARD_EVENTS
from resolvers.event_cursors import event_cursor
from resolvers.ids import encode_id

# The event's stored fields a receiver gets: stored name -> (sent name, ID type or None).
_FIELDS: dict[str, tuple[str, str | None]] = {
    "opportunity_id": ("opportunityId", "Opportunity"),
    "from_stage_id": ("fromStageId", "Stage"),
    "to_stage_id": ("toStageId", "Stage"),
    "stage_id": ("stageId", "Stage"),
    "after_id": ("afterId", "Opportunity"),
    "owner_id": ("ownerId", "User"),
    "previous_owner_id": ("previousOwnerId", "User"),
    "order_id": ("orderId", "Order"),
    "message_id": ("messageId", "ChatMessage"),
    "changed_fields": ("changedFields", None),
    "result": ("result", None),
    "failure_reason": ("failureReason", None),
    "reason": ("reason", None),
    "rotting_since": ("rottingSince", None),
    "client_mutation_id": ("clientMutationId", None),
    "batch_id": ("batchId", None),
}
# A card's events but its deletion carry the card, as it is when the delivery is made.
CARD_SHOWN = CARD_EVENTS - {EventKind.OPPORTUNITY_DELETED}
EVENT_TYPES = frozenset(kind.value for kind in EventKind)


def body(event: CampaignEvent, card: Opportunity | None) -> bytes:
    """The JSON a receiver gets for `event`; `card` is its card (read now), if it has one."""
    data: dict[str, Any] = {}
    for stored, value in event.data.items():
        if stored in _FIELDS and value is not None:
            name, type_name = _FIELDS[stored]
            data[name] = encode_id(type_name, int(value)) if type_name else value
    if event.kind in CARD_SHOWN:
        data["opportunity"] = None if card is None else card_fields(card)
    return orjson.dumps(
        {
            "type": event.kind.value,
            "cursor": event_cursor(event.campaign_id, event.seq),
            "seq": event.seq,
            "campaignId": encode_id("Campaign", event.campaign_id),
            "occurredAt": _moment(event.occurred_at),
            "actorId": None if event.actor_id is None else encode_id("User", event.actor_id),
            "data": data,
        }
    )


def card_fields(card: Opportunity) -> dict[str, Any]:
    """The card's fields anyone who sees the card may see: its customer by ID only."""
    return {
        "id": encode_id("Opportunity", card.pk),
        "name": card.name,
        "stageId": encode_id("Stage", card.stage_id),
        "ownerId": None if card.owner_id is None else encode_id("User", card.owner_id),
        "customerId": encode_id("Customer", card.customer_id),
        "probability": card.probability,
        "amount": _amount(card.amount),
        "source": card.source.value,
        "result": card.result.value,
        "failureReason": card.failure_reason,
        "rank": card.rank,
        "version": card.version,
        "createdAt": _moment(card.created_at),
        "updatedAt": _moment(card.updated_at),
        "closedAt": _moment(card.closed_at),
        "expectedCloseAt": _moment(card.expected_close_at),
    }


def signed_headers(secret: str, message_id: str, sent: bytes, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for a body sent at `at` (seconds are what is signed)."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, at, sent),
    }


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def message_id(event: CampaignEvent) -> str:
    """webhook-id: the event's cursor, the same on every attempt and every redelivery, so a
    receiver can drop what it already has."""
    return event_cursor(event.campaign_id, event.seq)
