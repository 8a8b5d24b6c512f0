"""node(id): any object by global ID, under the same visibility as its typed query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from models import Permission
from resolvers import campaigns, notifications
from resolvers.access import can_see_campaign, visible_card
from resolvers.context import Context
from resolvers.errors import not_found
from resolvers.ids import decode_any, encode_id
from schema.campaign import Campaign, Stage
from schema.customer import Customer, load_customer
from schema.guards import IsAuthenticated
from schema.loss_reason import find_loss_reason
from schema.notification import Notification as NotificationType
from schema.opportunity import Communication as CommunicationType
from schema.opportunity import Opportunity, Order, Task, related_card
from schema.relay import Node
from schema.user import load_user
from schema.webhook import find_webhook

Finder = Callable[[Info[Context, None], int], Awaitable[Node | None]]


async def _campaign(info: Info[Context, None], pk: int) -> Node | None:
    found = await campaigns.get_visible_campaign(info.context, encode_id("Campaign", pk))
    return Campaign.from_model(found)


async def _stage(info: Info[Context, None], pk: int) -> Node | None:
    stage = await info.context.loaders.stage_by_id.load(pk)
    if stage is None or stage.removed_at is not None:
        return None
    campaign = await info.context.loaders.campaign_by_id.load(stage.campaign_id)
    if campaign is None or not await can_see_campaign(info.context, campaign):
        return None  # answered as "not found" under the ID the caller sent
    return Stage.from_model(stage)


async def _customer(info: Info[Context, None], pk: int) -> Customer | None:
    return await load_customer(info, pk)


async def _opportunity(info: Info[Context, None], pk: int) -> Node | None:
    return Opportunity.from_model(await visible_card(info.context, encode_id("Opportunity", pk)))


async def _order(info: Info[Context, None], pk: int) -> Node | None:
    order = await info.context.loaders.order_by_id.load(pk)
    card = await related_card(info, order.opportunity_id if order else None)
    return Order.from_model(order) if order and card else None


async def _task(info: Info[Context, None], pk: int) -> Node | None:
    task = await info.context.loaders.task_by_id.load(pk)
    card = await related_card(info, task.opportunity_id if task else None)
    return Task.from_model(task) if task and card else None


async def _communication(info: Info[Context, None], pk: int) -> Node | None:
    row = await info.context.loaders.communication_by_id.load(pk)
    if row is None:
        return None
    if row.opportunity_id is not None:
        return (
            CommunicationType.from_model(row)
            if await related_card(info, row.opportunity_id)
            else None
        )
    # Its card was deleted: the author, the customer's owner and VIEW_ALL keep it.
    viewer = info.context.require_viewer()
    customer = await info.context.loaders.customer_by_id.load(row.customer_id)
    allowed = (
        viewer.can(Permission.VIEW_ALL)
        or row.author_id == viewer.pk
        or (customer is not None and customer.owner_id == viewer.pk)
    )
    return CommunicationType.from_model(row) if allowed else None


async def _notification(info: Info[Context, None], pk: int) -> Node | None:
    row = await notifications.notification_of(info.context.require_viewer(), pk)
    return None if row is None else NotificationType.from_model(row)


FINDERS: dict[str, Finder] = {
    "User": load_user,
    "Customer": _customer,
    "Campaign": _campaign,
    "Stage": _stage,
    "Opportunity": _opportunity,
    "Order": _order,
    "Task": _task,
    "Communication": _communication,
    "Notification": _notification,
    "LossReason": find_loss_reason,
    "Webhook": find_webhook,
}


@strawberry.type
class NodeQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        decoded = decode_any(id)
        finder = FINDERS.get(decoded[0]) if decoded is not None else None
        found = await finder(info, decoded[1]) if finder and decoded else None
        if found is None:
            raise not_found("Node", id)
        return found
