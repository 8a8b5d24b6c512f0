"""Field guards: each decides one rule and raises with the contract's code.

A guard reads what it judges from the field's arguments, by one convention:

- `input`: the mutation's input object. The object it acts on is named by the input's
  `opportunity_id` or `campaign_id` when it has one, else by its `id` (a campaign's
  input may name a Stage: its campaign is meant);
- `id`: the object itself, for fields that take a bare ID (claimOpportunity,
  completeTask);
- `campaign_id`: the campaign, for fields that take it bare (setTyping);
- on a type's own fields (User.email, Customer.phone) the source object is judged.

What a guard finds is loaded through the operation's dataloaders, so the resolver that
runs next reads it again for free. A guard answers NOT_FOUND for what the viewer may
not see (exactly as if it did not exist), and FORBIDDEN with its `message` for what
the viewer sees but may not do.
"""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import GraphQLError
from strawberry.permission import BasePermission
from strawberry.types import Info

from models import Campaign, Opportunity, Permission, User
from resolvers.access import (
    can_see_campaign,
    can_see_cards,
    card_campaign,
    is_participant,
    may_assign_cards,
    may_change_card,
    may_edit_campaign,
    may_post_in_chat,
    visible_card,
)
from resolvers.context import Context
from resolvers.errors import Forbidden, NotFound, Unauthenticated, not_found
from resolvers.ids import decode_any, decode_id, encode_id
from resolvers.writes import Named


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


class CanDeleteCampaign(_PermissionGuard):
    permission = Permission.CAMPAIGN_DELETE
    message = "deleting campaigns needs the CAMPAIGN_DELETE permission"


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
    """The campaign named by the input (its id, or a stage's), or by a `campaignId` or
    `id` argument: manager or CAMPAIGN_EDIT."""

    message = "changing a campaign needs its manager or the CAMPAIGN_EDIT permission"

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        campaign = await _campaign_named(info.context, kwargs)
        return may_edit_campaign(info.context.require_viewer(), campaign)


class CanPostInCampaign(_ForbiddenGuard):
    """The campaign named as CanEditCampaign finds it: its manager and participants (posting
    in its chat, typing there)."""

    message = "only the campaign's manager and participants may post in its chat"

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return await may_post_in_chat(info.context, await _campaign_named(info.context, kwargs))


async def _campaign_named(context: Context, arguments: dict[str, Any]) -> Campaign:
    """The visible campaign the field's `input`, `campaignId` or `id` names; NOT_FOUND
    otherwise."""
    if "input" in arguments:
        return await campaign_of_input(context, arguments["input"])
    named = arguments["campaign_id"] if "campaign_id" in arguments else arguments["id"]
    return await visible_campaign(context, str(named))


async def campaign_of_input(context: Context, data: Any) -> Campaign:
    """The visible campaign an input names through campaignId, or id (campaign or stage)."""
    return await visible_campaign(context, _named_id(data, "campaign_id"))


async def visible_campaign(context: Context, global_id: str) -> Campaign:
    """The visible campaign of a Campaign or Stage ID; NOT_FOUND otherwise."""
    decoded = decode_any(global_id)
    campaign = None
    if decoded is not None and decoded[0] == "Campaign":
        campaign = await context.loaders.campaign_by_id.load(decoded[1])
    elif decoded is not None and decoded[0] == "Stage":
        stage = await context.loaders.stage_by_id.load(decoded[1])
        if stage is not None and stage.removed_at is None:
            campaign = await context.loaders.campaign_by_id.load(stage.campaign_id)
    if campaign is None or not await can_see_campaign(context, campaign):
        kind = decoded[0] if decoded is not None else "Campaign"
        raise not_found(kind, global_id)
    return campaign


def _card_id(kwargs: dict[str, Any]) -> str:
    data = kwargs.get("input")
    if data is None:
        return str(kwargs["id"])
    return _named_id(data, "opportunity_id")


def _named_id(data: Any, attribute: str) -> str:
    """The input's `attribute` when it has one (even "", a forged ID), else its id."""
    named = getattr(data, attribute, None)
    return str(named if named is not None else data.id)


class _CardGuard(_ForbiddenGuard):
    """Finds the visible card the field names (NOT_FOUND otherwise), then decides."""

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        context = info.context
        card = await visible_card(context, _card_id(kwargs))
        campaign = await card_campaign(context, card)
        return await self.allows(context, context.require_viewer(), card, campaign)

    async def allows(
        self, context: Context, viewer: User, card: Opportunity, campaign: Campaign
    ) -> bool:
        raise NotImplementedError


class CanEditOpportunity(_CardGuard):
    message = "changing an opportunity needs OPPORTUNITY_EDIT and its owner, manager or VIEW_ALL"
    permission = Permission.OPPORTUNITY_EDIT

    async def allows(
        self, context: Context, viewer: User, card: Opportunity, campaign: Campaign
    ) -> bool:
        return may_change_card(viewer, card, campaign, self.permission)


class CanDeleteOpportunity(CanEditOpportunity):
    message = "deleting an opportunity needs OPPORTUNITY_DELETE and its owner, manager or VIEW_ALL"
    permission = Permission.OPPORTUNITY_DELETE


class CanAssignOpportunity(_CardGuard):
    message = "assigning needs OPPORTUNITY_EDIT and the campaign's manager or VIEW_ALL"

    async def allows(
        self, context: Context, viewer: User, card: Opportunity, campaign: Campaign
    ) -> bool:
        return may_assign_cards(viewer, campaign)


class CanClaimOpportunity(_CardGuard):
    message = "only a participant of the campaign may claim its opportunities"

    async def allows(
        self, context: Context, viewer: User, card: Opportunity, campaign: Campaign
    ) -> bool:
        return await is_participant(context, campaign, viewer.pk)


class CanReopenOpportunity(_CardGuard):
    message = "only the campaign's manager may reopen an opportunity"

    async def allows(
        self, context: Context, viewer: User, card: Opportunity, campaign: Campaign
    ) -> bool:
        return bool(campaign.manager_id == viewer.pk)


class CanCreateOpportunity(_ForbiddenGuard):
    message = "adding opportunities needs OPPORTUNITY_CREATE (and OPPORTUNITY_ACCESS)"

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        await campaign_of_input(info.context, kwargs["input"])
        return info.context.viewer_can(Permission.OPPORTUNITY_CREATE) and info.context.viewer_can(
            Permission.OPPORTUNITY_ACCESS
        )


class CanCopyOpportunity(_CardGuard):
    message = "copying an opportunity needs OPPORTUNITY_CREATE"

    async def allows(
        self, context: Context, viewer: User, card: Opportunity, campaign: Campaign
    ) -> bool:
        return viewer.can(Permission.OPPORTUNITY_CREATE)


class CanCompleteTask(_ForbiddenGuard):
    message = "completing a task needs its assignee, or the right to change its opportunity"

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        context = info.context
        task = await context.loaders.task_by_id.load(decode_id(str(kwargs["id"]), "Task"))
        if task is None:
            raise not_found("Task", str(kwargs["id"]))
        try:
            card = await visible_card(context, encode_id("Opportunity", task.opportunity_id))
        except NotFound:
            raise not_found("Task", str(kwargs["id"])) from None
        viewer = context.require_viewer()
        if task.assignee_id == viewer.pk:
            return True
        return await CanEditOpportunity().allows(
            context, viewer, card, await card_campaign(context, card)
        )


def judged_card(context: Context, global_id: str, guard: type[_CardGuard]) -> Named:
    """The card `global_id` names, for a write that judges it once it holds its lock
    (resolvers/writes.py): NOT_FOUND and FORBIDDEN exactly as `guard` on the field
    answers, with the card read once instead of twice."""
    pk = decode_id(global_id, "Opportunity")  # malformed: NOT_FOUND, as visible_card
    viewer = context.require_viewer()

    async def judge(campaign: Campaign, card: Opportunity, takes_part: bool) -> None:
        context.loaders.viewer_takes_part.prime(campaign.pk, takes_part)
        if not await can_see_cards(context, campaign):
            raise not_found("Opportunity", global_id)
        check = guard()
        if not await check.allows(context, viewer, card, campaign):
            check.on_unauthorized()

    return Named(pk, global_id, viewer.pk, judge)
