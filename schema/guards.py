"""Field guards: each decides one rule and raises with the contract's code."""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import GraphQLError
from strawberry.permission import BasePermission
from strawberry.types import Info

from models import Campaign, Permission
from resolvers.access import can_see_campaign
from resolvers.context import Context
from resolvers.errors import Forbidden, Unauthenticated, not_found
from resolvers.ids import decode_any


class IsAuthenticated(BasePermission):
    message = "sign in first: send 'Authorization: Bearer <token>'"
    error_class: ClassVar[type[GraphQLError]] = Unauthenticated  # type: ignore[misc]

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return info.context.viewer is not None


class _ForbiddenGuard(BasePermission):
    error_class: ClassVar[type[GraphQLError]] = Forbidden  # type: ignore[misc]


class _PermissionGuard(_ForbiddenGuard):
    permission: ClassVar[Permission]

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return info.context.viewer_can(self.permission)


class CanAdministerUsers(_PermissionGuard):
    permission = Permission.USER_ADMIN
    message = "creating users needs the USER_ADMIN permission"


class CanCreateCampaign(_PermissionGuard):
    permission = Permission.CAMPAIGN_CREATE
    message = "creating campaigns needs the CAMPAIGN_CREATE permission"


class IsSelfOrUserAdmin(_ForbiddenGuard):
    """On a User's private fields: the user themself, or USER_ADMIN."""

    message = "only the user themself or a USER_ADMIN may read this field"

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer is not None and (viewer.pk == source.pk or viewer.can(Permission.USER_ADMIN))


class CanSeeContactDetails(_ForbiddenGuard):
    """On a Customer's contact fields (phone, email)."""

    message = (
        "contact details are for the customer's owner, owners and managers of its "
        "opportunities, and VIEW_ALL"
    )

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        viewer = info.context.viewer
        if viewer is None:
            return False
        if viewer.can(Permission.VIEW_ALL) or source.owner_pk == viewer.pk:
            return True
        return await info.context.loaders.contact_visible_by_customer.load(source.pk)


class CanEditCampaign(_ForbiddenGuard):
    """The campaign named by the input (its id, or a stage's): manager or CAMPAIGN_EDIT."""

    message = "changing a campaign needs its manager or the CAMPAIGN_EDIT permission"

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        campaign = await campaign_of_input(info.context, kwargs["input"])
        viewer = info.context.require_viewer()
        return campaign.manager_id == viewer.pk or viewer.can(Permission.CAMPAIGN_EDIT)


async def campaign_of_input(context: Context, data: Any) -> Campaign:
    """The visible campaign an input names through campaignId, or id (campaign or stage)."""
    global_id = getattr(data, "campaign_id", None) or data.id
    decoded = decode_any(global_id)
    campaign = None
    if decoded is not None and decoded[0] == "Campaign":
        campaign = await context.loaders.campaign_by_id.load(decoded[1])
    elif decoded is not None and decoded[0] == "Stage":
        stage = await context.loaders.stage_by_id.load(decoded[1])
        if stage is not None:
            campaign = await context.loaders.campaign_by_id.load(stage.campaign_id)
    if campaign is None or not await can_see_campaign(context, campaign):
        kind = decoded[0] if decoded is not None else "Campaign"
        raise not_found(kind, global_id)
    return campaign
