"""Who may see what: the campaign visibility rule and its query form."""

from __future__ import annotations

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import Campaign, CampaignMember, Permission, User
from resolvers.context import Context


def visible_campaigns(viewer: User) -> QuerySet[Campaign]:
    """Campaigns the viewer manages, takes part in, or all of them with VIEW_ALL."""
    if viewer.can(Permission.VIEW_ALL):
        return Campaign.all()
    participations = CampaignMember.filter(user_id=viewer.pk).values("campaign_id")
    return Campaign.filter(Q(manager_id=viewer.pk) | Q(id__in=Subquery(participations)))


async def can_see_campaign(context: Context, campaign: Campaign) -> bool:
    viewer = context.viewer
    if viewer is None:
        return False
    if viewer.can(Permission.VIEW_ALL) or campaign.manager_id == viewer.pk:
        return True
    members = await context.loaders.members_by_campaign.load(campaign.pk)
    return any(member.user_id == viewer.pk for member in members)


async def is_participant(context: Context, campaign: Campaign, user_id: int) -> bool:
    members = await context.loaders.members_by_campaign.load(campaign.pk)
    return any(member.user_id == user_id for member in members)
