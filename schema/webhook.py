"""Outbound webhooks: their type, their deliveries, and the mutations that manage them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import schema.enums  # noqa: F401  (publishes WebhookDeliveryStatus)
from models import Webhook as WebhookModel
from models import WebhookDelivery as WebhookDeliveryModel
from models import WebhookDeliveryStatus
from resolvers import webhooks
from resolvers.context import Context
from resolvers.errors import NotFound
from resolvers.event_cursors import event_cursor
from resolvers.ids import encode_id
from resolvers.pagination import PageArgs
from schema.guards import CanEditCampaign, IsAuthenticated, campaign_of_input
from schema.lazy_types import lazy_type
from schema.relay import Connection, Node

if TYPE_CHECKING:
    from schema.campaign import Campaign

LazyCampaign = Annotated["Campaign", strawberry.lazy("schema.campaign")]


@strawberry.type(
    description="One event's delivery to a webhook: its attempts so far and how the last went."
)
class WebhookDelivery:
    event_cursor: str
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def from_model(cls, row: WebhookDeliveryModel, campaign_pk: int) -> WebhookDelivery:
        return cls(
            event_cursor=event_cursor(campaign_pk, row.seq),
            event_type=row.event_type,
            status=row.status,
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
        )


@strawberry.type(
    description="An outbound webhook: each event of its campaign (of eventTypes, all when "
    "empty) is POSTed as JSON, in seq order, signed as the Standard Webhooks specification "
    "says (headers webhook-id = the event cursor, webhook-timestamp, webhook-signature v1 "
    "HMAC-SHA256 with the secret). Failed deliveries are retried with backoff; after 24 "
    "hours of failure the webhook turns inactive."
)
class Webhook(Node):
    pk: strawberry.Private[int]
    campaign_pk: strawberry.Private[int]
    url: str
    event_types: list[str] = strawberry.field(
        description="Payload type names such as OpportunityMoved; empty: every event."
    )
    active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, row: WebhookModel) -> Webhook:
        return cls(
            id=strawberry.ID(encode_id("Webhook", row.pk)),
            pk=row.pk,
            campaign_pk=row.campaign_id,
            url=row.url,
            event_types=list(row.event_types),
            active=row.active,
            created_at=row.created_at,
        )

    @strawberry.field
    async def campaign(self, info: Info[Context, None]) -> LazyCampaign:
        found = await info.context.loaders.campaign_by_id.load(self.campaign_pk)
        assert found is not None, "a webhook is deleted with its campaign"
        campaign: Campaign = lazy_type("schema.campaign", "Campaign").from_model(found)
        return campaign

    @strawberry.field(description="Newest first.")
    async def deliveries(
        self, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookDelivery]:
        page = await webhooks.deliveries(self.pk, PageArgs(first, after))
        return Connection.of(page, lambda row: WebhookDelivery.from_model(row, self.campaign_pk))


async def find_webhook(info: Info[Context, None], pk: int) -> Webhook | None:
    """The webhook, for its campaign's manager and CAMPAIGN_EDIT (node lookups)."""
    try:
        hook, _ = await webhooks.editable_webhook(info.context, encode_id("Webhook", pk))
    except NotFound:
        return None
    return Webhook.from_model(hook)


@strawberry.input
class CreateWebhookInput:
    campaign_id: strawberry.ID
    url: str = strawberry.field(
        description="https (http only in development or with WEBHOOK_ALLOW_PRIVATE); private "
        "and loopback addresses are refused unless WEBHOOK_ALLOW_PRIVATE."
    )
    event_types: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class CreatedWebhook:
    webhook: Webhook
    secret: str = strawberry.field(description="whsec_ followed by base64; shown only once.")


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated, CanEditCampaign],
        description="The campaign's manager or CAMPAIGN_EDIT. The secret is shown only here.",
    )
    async def create_webhook(
        self, info: Info[Context, None], input: CreateWebhookInput
    ) -> CreatedWebhook:
        campaign = await campaign_of_input(info.context, input)
        hook, secret = await webhooks.create_webhook(
            campaign,
            info.context.require_viewer(),
            input.url,
            input.event_types,
            info.context.webhook_urls,
        )
        return CreatedWebhook(webhook=Webhook.from_model(hook), secret=secret)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def delete_webhook(self, info: Info[Context, None], id: strawberry.ID) -> strawberry.ID:
        hook, _ = await webhooks.editable_webhook(info.context, id)
        await webhooks.delete_webhook(hook)
        return id

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Turns a webhook on or off; turning it on resumes deliveries where they "
        "stopped.",
    )
    async def set_webhook_active(
        self, info: Info[Context, None], id: strawberry.ID, active: bool
    ) -> Webhook:
        hook, _ = await webhooks.editable_webhook(info.context, id)
        return Webhook.from_model(await webhooks.set_active(hook, active))

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Queues every event of the campaign after the cursor for delivery again; "
        "returns how many.",
    )
    async def redeliver_webhook(
        self, info: Info[Context, None], id: strawberry.ID, after: str
    ) -> int:
        hook, _ = await webhooks.editable_webhook(info.context, id)
        return await webhooks.redeliver(hook, after)
