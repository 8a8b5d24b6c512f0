"""Who may see what: the campaign visibility rule and its query form."""

from __future__ import annotations

from collections.abc import Collection

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import Campaign, CampaignMember, Opportunity, Permission, User
from resolvers.context import Context
from resolvers.errors import not_found
from resolvers.ids import decode_id


def visible_campaigns(viewer: User) -> QuerySet[Campaign]:
    """Campaigns the viewer manages, takes part in, or all of them with VIEW_ALL."""
    if viewer.can(Permission.VIEW_ALL):
        return Campaign.all()
    participations = CampaignMember.filter(user_id=viewer.pk).values("campaign_id")
    return Campaign.filter(Q(manager_id=viewer.pk) | Q(id__in=Subquery(participations)))


def sees_campaign(viewer: User, manager_pk: int | None, member_pks: Collection[int]) -> bool:
    """The campaign rule: its manager, its participants, and VIEW_ALL see it."""
    return viewer.can(Permission.VIEW_ALL) or viewer.pk == manager_pk or viewer.pk in member_pks


async def can_see_campaign(context: Context, campaign: Campaign) -> bool:
    viewer = context.viewer
    if viewer is None:
        return False
    if sees_campaign(viewer, campaign.manager_id, ()):
        return True
    return await context.loaders.viewer_takes_part.load(campaign.pk)


async def is_participant(context: Context, campaign: Campaign, user_id: int) -> bool:
    if context.viewer is not None and user_id == context.viewer.pk:
        return await context.loaders.viewer_takes_part.load(campaign.pk)
    members = await context.loaders.members_by_campaign.load(campaign.pk)
    return any(member.user_id == user_id for member in members)


async def may_post_in_chat(context: Context, campaign: Campaign) -> bool:
    """Posting in a campaign's chat, and typing there: its manager and participants."""
    viewer = context.require_viewer()
    return campaign.manager_id == viewer.pk or await is_participant(context, campaign, viewer.pk)


async def can_see_cards(context: Context, campaign: Campaign) -> bool:
    """Cards need OPPORTUNITY_ACCESS on top of seeing their campaign."""
    return context.viewer_can(Permission.OPPORTUNITY_ACCESS) and await can_see_campaign(
        context, campaign
    )


def may_edit_campaign(viewer: User, campaign: Campaign) -> bool:
    """Manager or CAMPAIGN_EDIT: who may change a campaign."""
    return campaign.manager_id == viewer.pk or viewer.can(Permission.CAMPAIGN_EDIT)


def may_change_card(
    viewer: User,
    card: Opportunity,
    campaign: Campaign,
    permission: Permission = Permission.OPPORTUNITY_EDIT,
) -> bool:
    """Changing (or with OPPORTUNITY_DELETE, deleting) a card: the function permission and
    its owner, its campaign's manager or VIEW_ALL."""
    return viewer.can(permission) and bool(
        card.owner_id == viewer.pk
        or campaign.manager_id == viewer.pk
        or viewer.can(Permission.VIEW_ALL)
    )


def may_assign_cards(viewer: User, campaign: Campaign) -> bool:
    """Assigning the campaign's cards: OPPORTUNITY_EDIT and its manager or VIEW_ALL."""
    return viewer.can(Permission.OPPORTUNITY_EDIT) and (
        campaign.manager_id == viewer.pk or viewer.can(Permission.VIEW_ALL)
    )


def card_campaigns(viewer: User) -> QuerySet[Campaign] | None:
    """The campaigns whose cards the viewer may see (None: no card at all)."""
    if not viewer.can(Permission.OPPORTUNITY_ACCESS):
        return None
    return visible_campaigns(viewer)


async def member_ids(context: Context, campaign: Campaign) -> list[int]:
    """The manager and the participants: who may own the campaign's cards."""
    members = await context.loaders.members_by_campaign.load(campaign.pk)
    return [campaign.manager_id, *(member.user_id for member in members)]


async def visible_card(context: Context, global_id: str) -> Opportunity:
    """The opportunity, or NOT_FOUND when it is missing or hidden from the viewer."""
    card = await context.loaders.opportunity_by_id.load(decode_id(global_id, "Opportunity"))
    campaign = None if card is None else await context.loaders.campaign_by_id.load(card.campaign_id)
    if card is None or campaign is None or not await can_see_cards(context, campaign):
        raise not_found("Opportunity", global_id)
    return card


async def card_campaign(context: Context, card: Opportunity) -> Campaign:
    campaign = await context.loaders.campaign_by_id.load(card.campaign_id)
    assert campaign is not None, "a card's campaign is deleted with it (CASCADE)"
    return campaign
