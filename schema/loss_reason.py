"""Loss reasons: the campaign's managed list, and adding and archiving its entries."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models import LossReason as LossReasonModel
from resolvers import loss_reasons
from resolvers.access import can_see_campaign, may_edit_campaign
from resolvers.context import Context
from resolvers.errors import Forbidden, NotFound, not_found
from resolvers.ids import decode_id, encode_id
from schema.guards import CanEditCampaign, IsAuthenticated, campaign_of_input
from schema.relay import Node


@strawberry.type(
    description="A managed reason for losing an opportunity (Getfly's failure reason)."
)
class LossReason(Node):
    name: str
    archived: bool

    @classmethod
    def from_model(cls, row: LossReasonModel) -> LossReason:
        return cls(
            id=strawberry.ID(encode_id("LossReason", row.pk)),
            name=row.name,
            archived=row.archived_at is not None,
        )


async def visible_loss_reason(info: Info[Context, None], pk: int) -> LossReasonModel | None:
    """The loss reason, when its campaign is visible to the viewer."""
    row = await info.context.loaders.loss_reason_by_id.load(pk)
    if row is None:
        return None
    campaign = await info.context.loaders.campaign_by_id.load(row.campaign_id)
    if campaign is None or not await can_see_campaign(info.context, campaign):
        return None
    return row


async def find_loss_reason(info: Info[Context, None], pk: int) -> LossReason | None:
    row = await visible_loss_reason(info, pk)
    return None if row is None else LossReason.from_model(row)


@strawberry.input
class AddLossReasonInput:
    campaign_id: strawberry.ID
    name: str


@strawberry.type
class LossReasonMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated, CanEditCampaign],
        description="Manager or CAMPAIGN_EDIT; names are unique per campaign (BAD_USER_INPUT).",
    )
    async def add_loss_reason(
        self, info: Info[Context, None], input: AddLossReasonInput
    ) -> LossReason:
        campaign = await campaign_of_input(info.context, input)
        row = await loss_reasons.add_loss_reason(
            campaign, info.context.require_viewer(), input.name
        )
        return LossReason.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Hidden from new losses; opportunities lost with it keep it.",
    )
    async def archive_loss_reason(self, info: Info[Context, None], id: strawberry.ID) -> LossReason:
        try:
            row = await visible_loss_reason(info, decode_id(id, "LossReason"))
        except NotFound:
            row = None
        if row is None:
            raise not_found("LossReason", id)
        viewer = info.context.require_viewer()
        campaign = await info.context.loaders.campaign_by_id.load(row.campaign_id)
        assert campaign is not None, "visible_loss_reason found it"
        if not may_edit_campaign(viewer, campaign):
            raise Forbidden(CanEditCampaign.message)
        return LossReason.from_model(await loss_reasons.archive_loss_reason(row, viewer))
