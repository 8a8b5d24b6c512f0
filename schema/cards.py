"""Pages of cards as the types that hold them show them (a campaign, a stage, a
customer): each card with its owner and customer, loaded in one batch per page.

Here, not in schema/opportunity.py, so that those types import it at the top:
schema/opportunity.py imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.types import Info

from models import Opportunity as OpportunityModel
from resolvers import opportunity_reads
from resolvers.context import Context
from resolvers.pagination import PageArgs
from schema.guards import IsAuthenticated
from schema.opportunity import Opportunity, Preloaded, card_build, customer_builder
from schema.opportunity_filter import OpportunityFilter
from schema.relay import Connection
from schema.user import User


async def card_nodes(
    info: Info[Context, None],
    cards: list[OpportunityModel],
    only: frozenset[str] | None = None,
) -> Callable[[OpportunityModel], Opportunity]:
    """Builds the page's cards with owners and customers loaded in one batch each
    (cards read with the columns `only`, when given: schema/card_columns.py).

    Resolving them per card would schedule two tasks per card; a board of
    2,000 cards spends most of its time there.
    """
    loaders = info.context.loaders
    # Each key once: a board's 2,000 cards have a few dozen owners.
    owners = await loaders.user_by_id.load_many(
        list({card.owner_id for card in cards if card.owner_id is not None})
    )
    customers = await loaders.customers(list({card.customer_id: None for card in cards}))
    users_by_pk = {user.id: User.from_model(user) for user in owners if user is not None}
    customer_of = customer_builder()
    customers_by_pk = {row.id: customer_of(row) for row in customers if row is not None}

    build_card = card_build(only)

    def build(card: OpportunityModel) -> Opportunity:
        owner = None if card.owner_id is None else users_by_pk.get(card.owner_id)
        return build_card(card, Preloaded(owner=owner, customer=customers_by_pk[card.customer_id]))

    return build


@strawberry.type
class CardQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Opportunities across every campaign the viewer may see, newest first, "
        "e.g. 'my open deals'.",
    )
    async def opportunities(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: OpportunityFilter | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Opportunity]:
        page = await opportunity_reads.opportunities_of_viewer(
            info.context.require_viewer(),
            PageArgs(first, after, last, before),
            None if filter is None else filter.decoded(),
        )
        return Connection.of(page, await card_nodes(info, page.items))
