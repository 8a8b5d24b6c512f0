"""Campaigns and their approach steps: types, queries and mutations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET
from strawberry.types import Info

import schema.enums  # noqa: F401  (publishes OpportunityResult)
from models import Campaign as CampaignModel
from models import OpportunityResult, Permission
from models import Stage as StageModel
from resolvers import campaign_lifecycle, campaigns, chat, opportunity_reads, stages, webhooks
from resolvers.campaign_stats import campaign_figures
from resolvers.context import Context
from resolvers.errors import BadUserInput, not_found
from resolvers.event_cursors import event_cursor, last_event_cursor
from resolvers.ids import decode_id, encode_id
from resolvers.members import members_of
from resolvers.pagination import PageArgs
from resolvers.stage_totals import ColumnTotals
from resolvers.validation import utc_moment
from schema.campaign_stats import CampaignStats
from schema.card_columns import card_columns
from schema.cards import card_nodes
from schema.chat import ChatMessageConnection
from schema.guards import CanCreateCampaign, CanDeleteCampaign, CanEditCampaign, IsAuthenticated
from schema.loss_reason import LossReason
from schema.members import CampaignMember
from schema.opportunity_filter import OpportunityFilter
from schema.relay import Connection, Node
from schema.user import User, load_user
from schema.webhook import Webhook

if TYPE_CHECKING:
    from schema.opportunity import Opportunity

LazyOpportunity = Annotated["Opportunity", strawberry.lazy("schema.opportunity")]


def _sees_cards(info: Info[Context, None]) -> bool:
    """Stages and campaigns reach here only when visible: the permission is what is left."""
    return info.context.viewer_can(Permission.OPPORTUNITY_ACCESS)


@strawberry.type(description="An approach step of a campaign: one column of its Kanban board.")
class Stage(Node):
    pk: strawberry.Private[int]
    campaign_pk: strawberry.Private[int]
    name: str
    position: int = strawberry.field(description="0-based order of the column within its campaign.")
    probability: int | None = strawberry.field(
        description="Default probability (percent) for opportunities that enter this step, if set."
    )
    rotting_days: int | None = strawberry.field(
        description="Days an open opportunity may stay in this step before it is rotting; "
        "null: it never rots here."
    )

    @strawberry.field(
        description="Open and closed opportunities in this step, in board order (by rank)."
    )
    async def opportunities(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[LazyOpportunity]:
        if not _sees_cards(info):
            return Connection.empty()
        only = card_columns(info)
        page = await info.context.loaders.column_by_stage.load(
            (self.pk, PageArgs(first, after), only)
        )
        return Connection.of(page, await card_nodes(info, page.items, only))

    @strawberry.field
    async def opportunity_count(self, info: Info[Context, None]) -> int:
        if not _sees_cards(info):
            return 0
        return await info.context.loaders.card_count_by_stage.load(self.pk)

    @strawberry.field(description="Sum of amount over the opportunities in this step.")
    async def total_amount(self, info: Info[Context, None]) -> Decimal:
        return (await self._totals(info)).total_amount

    @strawberry.field(
        description="Sum of amount x probability / 100 over the open opportunities in this step."
    )
    async def weighted_amount(self, info: Info[Context, None]) -> Decimal:
        return (await self._totals(info)).weighted_amount

    @strawberry.field(description="Open opportunities of this step that are rotting now.")
    async def rotting_count(self, info: Info[Context, None]) -> int:
        return (await self._totals(info)).rotting

    @strawberry.field(
        description="Mean seconds spent in this step by the opportunities that left it (moved "
        "to another step, or closed while in it), over the campaign's whole history; null "
        "until one has."
    )
    async def average_seconds_in_stage(self, info: Info[Context, None]) -> float | None:
        if not _sees_cards(info):
            return None
        return await info.context.loaders.average_seconds_by_stage.load(self.pk)

    async def _totals(self, info: Info[Context, None]) -> ColumnTotals:
        if not _sees_cards(info):
            return ColumnTotals(self.pk)
        return await info.context.loaders.stage_totals_by_stage.load(self.pk)

    @classmethod
    def from_model(cls, stage: StageModel) -> Stage:
        return cls(
            id=strawberry.ID(encode_id("Stage", stage.pk)),
            pk=stage.pk,
            campaign_pk=stage.campaign_id,
            name=stage.name,
            position=stage.position,
            probability=stage.probability,
            rotting_days=stage.rotting_days,
        )


@strawberry.type
class Campaign(Node):
    pk: strawberry.Private[int]
    manager_pk: strawberry.Private[int]
    code: str = strawberry.field(
        description="Set by the creator, or generated when left blank; unique."
    )
    name: str
    description: str | None
    auto_assign: bool
    allow_duplicate_opportunities: bool
    registration_wait_minutes: int | None = strawberry.field(
        description="Minutes a new unowned opportunity waits for a participant to claim it "
        "before the manager is told."
    )
    created_at: datetime
    archived_at: datetime | None = strawberry.field(
        description="Set while the campaign is archived: read-only, and left out of "
        "`campaigns` unless includeArchived."
    )

    @strawberry.field
    async def manager(self, info: Info[Context, None]) -> User:
        user = await load_user(info, self.manager_pk)
        assert user is not None, "a campaign's manager is never deleted (RESTRICT)"
        return user

    @strawberry.field(
        description="The sales staff taking part (the manager is not listed unless added)."
    )
    async def participants(self, info: Info[Context, None]) -> list[User]:
        members = await info.context.loaders.members_by_campaign.load(self.pk)
        return await _users(info, [member.user_id for member in members])

    @strawberry.field(description="Participants who receive opportunities by automatic assignment.")
    async def rotation(self, info: Info[Context, None]) -> list[User]:
        members = await info.context.loaders.members_by_campaign.load(self.pk)
        in_rotation = sorted(
            (member for member in members if member.rotation_position is not None),
            key=lambda member: member.rotation_position or 0,
        )
        return await _users(info, [member.user_id for member in in_rotation])

    @strawberry.field(
        description="Manager and participants with their assignment settings, manager "
        "first, then by name."
    )
    async def members(self, info: Info[Context, None]) -> list[CampaignMember]:
        campaign = await info.context.loaders.campaign_by_id.load(self.pk)
        assert campaign is not None
        rows = await info.context.loaders.members_by_campaign.load(self.pk)
        return [CampaignMember.of(member) for member in await members_of(campaign, rows)]

    @strawberry.field(description="The approach steps, ordered by position.")
    async def stages(self, info: Info[Context, None]) -> list[Stage]:
        rows = await info.context.loaders.stages_by_campaign.load(self.pk)
        return [Stage.from_model(row) for row in rows]

    @strawberry.field(
        description="The managed list of reasons for losing an opportunity here, in the order "
        "they were added."
    )
    async def loss_reasons(
        self, info: Info[Context, None], include_archived: bool = False
    ) -> list[LossReason]:
        rows = await info.context.loaders.loss_reasons_by_campaign.load(self.pk)
        return [
            LossReason.from_model(row)
            for row in rows
            if include_archived or row.archived_at is None
        ]

    @strawberry.field(
        description="Outbound webhooks of this campaign; visible to its manager and "
        "CAMPAIGN_EDIT only (others: empty list)."
    )
    async def webhooks(self, info: Info[Context, None]) -> list[Webhook]:
        campaign = await info.context.loaders.campaign_by_id.load(self.pk)
        assert campaign is not None
        rows = await webhooks.campaign_webhooks(info.context.require_viewer(), campaign)
        return [Webhook.from_model(row) for row in rows]

    @strawberry.field(
        description="Pipeline figures over the opportunities created in [from, to) (all when "
        "omitted), computed from the stored rows and stage history at the moment of the read: "
        "they equal a count over `opportunities` and their `stageHistory`. Visible to whoever "
        "sees the campaign's cards (OPPORTUNITY_ACCESS); NOT_FOUND like the campaign otherwise."
    )
    async def stats(
        self,
        info: Info[Context, None],
        since: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> CampaignStats:
        if not _sees_cards(info):
            raise not_found("Campaign", self.id)
        since = None if since is None else utc_moment(since, "from")
        until = None if to is None else utc_moment(to, "to")
        if since is not None and until is not None and until < since:
            raise BadUserInput("to must not be before from", field="to")
        figures = await campaign_figures(self.pk, since, until)
        stages = await info.context.loaders.stages_by_campaign.load(self.pk)
        named = [pk for pk in figures.losses if pk is not None]
        reasons = await info.context.loaders.loss_reason_by_id.load_many(named)
        return CampaignStats.of(
            figures,
            [Stage.from_model(stage) for stage in stages],
            {row.pk: row for row in reasons if row is not None},
        )

    @strawberry.field
    async def opportunities(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        stage_id: strawberry.ID | None = None,
        owner_id: strawberry.ID | None = None,
        result: OpportunityResult | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: Annotated[
            OpportunityFilter | None,
            strawberry.argument(
                description="Every condition given must hold; combined with the arguments above."
            ),
        ] = None,
    ) -> Connection[LazyOpportunity]:
        card_filter = None if filter is None else filter.decoded()
        if not _sees_cards(info):
            return Connection.empty()
        campaign = await info.context.loaders.campaign_by_id.load(self.pk)
        assert campaign is not None
        page = await opportunity_reads.opportunities_of_campaign(
            campaign,
            PageArgs(first, after, last, before),
            stage_id=stage_id,
            owner_id=owner_id,
            result=result,
            card_filter=card_filter,
        )
        return Connection.of(page, await card_nodes(info, page.items))

    @strawberry.field(
        description="Chat history, read backwards: the newest `last` messages before the "
        "cursor, oldest first."
    )
    async def chat_messages(
        self, info: Info[Context, None], last: int | None = None, before: str | None = None
    ) -> ChatMessageConnection:
        campaign = await info.context.loaders.campaign_by_id.load(self.pk)
        assert campaign is not None
        rows, has_older = await chat.history(campaign, last, before)
        return ChatMessageConnection.of(rows, has_older, before is not None)

    @strawberry.field(
        description="Chat messages posted by others after the viewer's read marker, deleted "
        "ones excluded."
    )
    async def unread_chat_count(self, info: Info[Context, None]) -> int:
        found = await info.context.loaders.chat_unread_by_campaign.load(self.pk)
        return 0 if found is None else found.count

    @strawberry.field(
        description="The cursor of the newest chat message the viewer has marked read; null "
        "before any."
    )
    async def chat_read_cursor(self, info: Info[Context, None]) -> str | None:
        found = await info.context.loaders.chat_unread_by_campaign.load(self.pk)
        if found is None or found.read_seq is None:
            return None
        return event_cursor(self.pk, found.read_seq)

    @strawberry.field(
        description="The cursor of the newest campaign event at the moment of this read: pass "
        "it as `after` to campaignEvents to go live with no gap."
    )
    async def last_event_cursor(self) -> str | None:
        return await last_event_cursor(self.pk)

    @classmethod
    def from_model(cls, campaign: CampaignModel) -> Campaign:
        return cls(
            id=strawberry.ID(encode_id("Campaign", campaign.pk)),
            pk=campaign.pk,
            manager_pk=campaign.manager_id,
            code=campaign.code,
            name=campaign.name,
            description=campaign.description,
            auto_assign=campaign.auto_assign,
            allow_duplicate_opportunities=campaign.allow_duplicate_opportunities,
            registration_wait_minutes=campaign.registration_wait_minutes,
            created_at=campaign.created_at,
            archived_at=campaign.archived_at,
        )


async def _users(info: Info[Context, None], pks: list[int]) -> list[User]:
    rows = await info.context.loaders.user_by_id.load_many(pks)
    return [User.from_model(row) for row in rows if row is not None]


@strawberry.input
class CreateCampaignInput:
    name: str
    code: str | None = strawberry.field(default=None, description="Generated when omitted.")
    description: str | None = None
    stages: list[str] = strawberry.field(description="Approach step names, in order; at least one.")
    manager_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the creator."
    )
    participant_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    auto_assign: bool = False
    rotation_user_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Participants taking part in automatic assignment; defaults to all "
        "participants.",
    )
    allow_duplicate_opportunities: bool = False
    registration_wait_minutes: int | None = None


@strawberry.input(description="Fields left out stay as they are.")
class UpdateCampaignInput:
    id: strawberry.ID
    name: str | None = UNSET
    description: str | None = UNSET
    manager_id: strawberry.ID | None = UNSET
    participant_ids: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description="Replaces the participant list. Removing a participant hands their open "
        "opportunities to the rotation when autoAssign is on.",
    )
    auto_assign: bool | None = UNSET
    rotation_user_ids: list[strawberry.ID] | None = UNSET
    allow_duplicate_opportunities: bool | None = UNSET
    registration_wait_minutes: int | None = UNSET


@strawberry.input
class AddStageInput:
    campaign_id: strawberry.ID
    name: str
    probability: int | None = None
    rotting_days: int | None = None
    position: int | None = strawberry.field(default=None, description="Appended last when omitted.")


@strawberry.input
class UpdateStageInput:
    id: strawberry.ID
    name: str | None = UNSET
    probability: int | None = UNSET
    rotting_days: int | None = strawberry.field(
        default=UNSET, description="Null clears it; omitted leaves it."
    )
    position: int | None = UNSET


@strawberry.input
class RemoveStageInput:
    id: strawberry.ID
    move_opportunities_to_stage_id: strawberry.ID | None = strawberry.field(
        default=None, description="Where its opportunities go; required when it holds any."
    )


@strawberry.type
class CampaignQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Campaigns the viewer may see: managed, taken part in, or all with VIEW_ALL.",
    )
    async def campaigns(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
        include_archived: bool = False,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Campaign]:
        page = await campaigns.list_campaigns(
            info.context.require_viewer(),
            search,
            PageArgs(first, after, last, before),
            include_archived,
        )
        return Connection.of(page, Campaign.from_model)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def campaign(self, info: Info[Context, None], id: strawberry.ID) -> Campaign | None:
        return Campaign.from_model(await campaigns.get_visible_campaign(info.context, id))


@strawberry.type
class CampaignMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated, CanCreateCampaign])
    async def create_campaign(
        self, info: Info[Context, None], input: CreateCampaignInput
    ) -> Campaign:
        campaign = await campaigns.create_campaign(
            info.context.require_viewer(),
            name=input.name,
            code=input.code,
            description=input.description,
            stages=input.stages,
            manager_id=input.manager_id,
            participant_ids=input.participant_ids,
            auto_assign=input.auto_assign,
            rotation_user_ids=input.rotation_user_ids,
            allow_duplicate_opportunities=input.allow_duplicate_opportunities,
            registration_wait_minutes=input.registration_wait_minutes,
        )
        return Campaign.from_model(campaign)

    @strawberry.mutation(permission_classes=[IsAuthenticated, CanEditCampaign])
    async def update_campaign(
        self, info: Info[Context, None], input: UpdateCampaignInput
    ) -> Campaign:
        campaign = await campaigns.update_campaign(
            decode_id(input.id, "Campaign"),
            info.context.require_viewer(),
            name=input.name,
            description=input.description,
            manager_id=input.manager_id,
            participant_ids=input.participant_ids,
            auto_assign=input.auto_assign,
            rotation_user_ids=input.rotation_user_ids,
            allow_duplicate_opportunities=input.allow_duplicate_opportunities,
            registration_wait_minutes=input.registration_wait_minutes,
        )
        return Campaign.from_model(campaign)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated, CanEditCampaign],
        description="Archived campaigns are read-only (changes answer BAD_USER_INPUT) until "
        "unarchived. CAMPAIGN_EDIT or the manager.",
    )
    async def archive_campaign(
        self, info: Info[Context, None], id: strawberry.ID, archived: bool = True
    ) -> Campaign:
        campaign = await campaign_lifecycle.archive_campaign(
            decode_id(id, "Campaign"), info.context.require_viewer(), archived
        )
        return Campaign.from_model(campaign)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated, CanDeleteCampaign],
        description="CAMPAIGN_DELETE. Deletes the campaign with its opportunities, chat, "
        "events and webhooks; refused with BAD_USER_INPUT while any order came from it "
        "(archive it instead). Its open streams end with NOT_FOUND.",
    )
    async def delete_campaign(self, info: Info[Context, None], id: strawberry.ID) -> strawberry.ID:
        campaign = await campaigns.get_visible_campaign(info.context, id)
        await campaign_lifecycle.delete_campaign(campaign.pk)
        return id

    @strawberry.mutation(permission_classes=[IsAuthenticated, CanEditCampaign])
    async def add_stage(self, info: Info[Context, None], input: AddStageInput) -> Stage:
        stage = await stages.add_stage(
            decode_id(input.campaign_id, "Campaign"),
            info.context.require_viewer(),
            name=input.name,
            probability=input.probability,
            rotting_days=input.rotting_days,
            position=input.position,
        )
        return Stage.from_model(stage)

    @strawberry.mutation(permission_classes=[IsAuthenticated, CanEditCampaign])
    async def update_stage(self, info: Info[Context, None], input: UpdateStageInput) -> Stage:
        stage = await stages.update_stage(
            decode_id(input.id, "Stage"),
            info.context.require_viewer(),
            name=input.name,
            probability=input.probability,
            rotting_days=input.rotting_days,
            position=input.position,
        )
        return Stage.from_model(stage)

    @strawberry.mutation(permission_classes=[IsAuthenticated, CanEditCampaign])
    async def remove_stage(self, info: Info[Context, None], input: RemoveStageInput) -> Campaign:
        campaign = await stages.remove_stage(
            decode_id(input.id, "Stage"),
            info.context.require_viewer(),
            input.move_opportunities_to_stage_id,
        )
        return Campaign.from_model(campaign)
