"""node(id): any object by global ID, under the same visibility as its typed query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from resolvers import campaigns
from resolvers.context import Context
from resolvers.errors import not_found
from resolvers.ids import decode_any, encode_id
from schema.campaign import Campaign, Stage
from schema.customer import Customer, load_customer
from schema.guards import IsAuthenticated
from schema.relay import Node
from schema.user import load_user

Finder = Callable[[Info[Context, None], int], Awaitable[Node | None]]


async def _campaign(info: Info[Context, None], pk: int) -> Node | None:
    found = await campaigns.get_visible_campaign(info.context, encode_id("Campaign", pk))
    return Campaign.from_model(found)


async def _stage(info: Info[Context, None], pk: int) -> Node | None:
    stage = await info.context.loaders.stage_by_id.load(pk)
    if stage is None:
        return None
    await campaigns.get_visible_campaign(info.context, encode_id("Campaign", stage.campaign_id))
    return Stage.from_model(stage)


async def _customer(info: Info[Context, None], pk: int) -> Customer | None:
    return await load_customer(info, pk)


FINDERS: dict[str, Finder] = {
    "User": load_user,
    "Customer": _customer,
    "Campaign": _campaign,
    "Stage": _stage,
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
