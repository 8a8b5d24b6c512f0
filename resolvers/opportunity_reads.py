"""Lists of cards and communications, each limited to what the viewer may see."""

from __future__ import annotations

from tortoise import timezone
from tortoise.expressions import Q, Subquery

from models import Campaign, Communication, Opportunity, OpportunityResult, Permission, User
from resolvers.access import card_campaigns
from resolvers.card_filter import CardFilter, narrowed
from resolvers.ids import decode_id
from resolvers.pagination import Page, PageArgs, paginate

NEWEST_FIRST = ("-occurred_at", "-id")
NEWEST_CARDS_FIRST = ("-created_at", "-id")


async def communications_of_card(card_pk: int, page: PageArgs) -> Page[Communication]:
    return await paginate(Communication.filter(opportunity_id=card_pk), page, NEWEST_FIRST)


async def communications_of_customer(
    viewer: User, customer_pk: int, page: PageArgs
) -> Page[Communication]:
    """Across the customer's opportunities the viewer may see.

    A communication whose card was deleted stays on the customer, for its author,
    the customer's owner and VIEW_ALL only.
    """
    query = Communication.filter(customer_id=customer_pk)
    orphaned = Q(opportunity_id__isnull=True)
    if not viewer.can(Permission.VIEW_ALL):
        orphaned &= Q(author_id=viewer.pk) | Q(customer__owner_id=viewer.pk)
    campaigns = card_campaigns(viewer)
    if campaigns is None:
        return await paginate(query.filter(orphaned), page, NEWEST_FIRST)
    seen = Opportunity.filter(campaign_id__in=Subquery(campaigns.values("id"))).values("id")
    query = query.filter(orphaned | Q(opportunity_id__in=Subquery(seen)))
    return await paginate(query, page, NEWEST_FIRST)


async def opportunities_of_customer(
    viewer: User, customer_pk: int, page: PageArgs
) -> Page[Opportunity]:
    campaigns = card_campaigns(viewer)
    query = Opportunity.filter(customer_id=customer_pk)
    query = (
        query.filter(id__in=[])
        if campaigns is None
        else query.filter(campaign_id__in=Subquery(campaigns.values("id")))
    )
    return await paginate(query, page)


async def opportunities_of_campaign(
    campaign: Campaign,
    page: PageArgs,
    *,
    stage_id: str | None,
    owner_id: str | None,
    result: OpportunityResult | None,
    card_filter: CardFilter | None = None,
) -> Page[Opportunity]:
    query = Opportunity.filter(campaign_id=campaign.pk)
    if stage_id is not None:
        query = query.filter(stage_id=decode_id(stage_id, "Stage"))
    if owner_id is not None:
        query = query.filter(owner_id=decode_id(owner_id, "User"))
    if result is not None:
        query = query.filter(result=result)
    if card_filter is not None:
        query = await narrowed(query, card_filter, timezone.now())
    return await paginate(query, page)


async def opportunities_of_viewer(
    viewer: User, page: PageArgs, card_filter: CardFilter | None
) -> Page[Opportunity]:
    """Cards of every campaign whose cards the viewer may see, newest first."""
    campaigns = card_campaigns(viewer)
    if campaigns is None:
        query = Opportunity.filter(id__in=[])
    else:
        query = Opportunity.filter(campaign_id__in=Subquery(campaigns.values("id")))
    if card_filter is not None:
        query = await narrowed(query, card_filter, timezone.now())
    return await paginate(query, page, NEWEST_CARDS_FIRST)
