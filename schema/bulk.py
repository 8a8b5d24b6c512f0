"""Bulk moves and assignments, and rebalancing: each card succeeds or fails on its own
(resolvers/bulk.py)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import bulk
from resolvers.access import visible_card
from resolvers.context import Context
from resolvers.errors import NotFound
from resolvers.ids import decode_id, encode_id
from schema.guards import CanEditCampaign, IsAuthenticated
from schema.opportunity import Opportunity
from schema.retry_safe import KEY_DESCRIPTION, retry_safe


@strawberry.input
class MoveOpportunitiesInput:
    ids: list[strawberry.ID]
    stage_id: strawberry.ID
    after_id: strawberry.ID | None = None
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class AssignOpportunitiesInput:
    ids: list[strawberry.ID]
    owner_id: strawberry.ID | None = None
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type
class BulkFailure:
    id: strawberry.ID
    code: str = strawberry.field(
        description="The contract error code this item got on its own, e.g. NOT_FOUND or CONFLICT."
    )
    message: str


@strawberry.type
class BulkResult:
    batch_id: strawberry.ID
    succeeded: list[Opportunity]
    failed: list[BulkFailure]

    @classmethod
    def of(cls, outcome: bulk.BulkOutcome) -> BulkResult:
        return cls(
            batch_id=strawberry.ID(outcome.batch_id),
            succeeded=[Opportunity.from_model(card) for card in outcome.succeeded],
            failed=[
                BulkFailure(id=strawberry.ID(f.global_id), code=f.code, message=f.message)
                for f in outcome.failed
            ],
        )


async def _bulk_answer(info: Info[Context, None], result: dict[str, Any]) -> BulkResult:
    """A repeat's answer: the first call's outcome, its cards as they are now (those since
    deleted or hidden left out)."""
    outcome = bulk.BulkOutcome.remembered(result["bulk"])
    for pk in result["bulk"]["succeeded"]:
        try:
            outcome.succeeded.append(await visible_card(info.context, encode_id("Opportunity", pk)))
        except NotFound:
            continue
    return BulkResult.of(outcome)


@strawberry.type
class BulkMutation:
    @strawberry.mutation(
        extensions=retry_safe(_bulk_answer, IsAuthenticated),
        description="Moves many cards of one campaign into one stage, placed in the given "
        "order right after afterId (first when null). Each card succeeds or fails on its "
        "own; the events of one call share a batchId. At most 500 ids.",
    )
    async def move_opportunities(
        self, info: Info[Context, None], input: MoveOpportunitiesInput
    ) -> BulkResult:
        outcome = await bulk.move_many(
            info.context, [str(i) for i in input.ids], input.stage_id, input.after_id
        )
        return BulkResult.of(outcome)

    @strawberry.mutation(
        extensions=retry_safe(_bulk_answer, IsAuthenticated),
        description="Like moveOpportunities, for owners: the manager's bulk assignment "
        "(ownerId null: unowned).",
    )
    async def assign_opportunities(
        self, info: Info[Context, None], input: AssignOpportunitiesInput
    ) -> BulkResult:
        outcome = await bulk.assign_many(info.context, [str(i) for i in input.ids], input.owner_id)
        return BulkResult.of(outcome)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated, CanEditCampaign],
        description="Spreads the campaign's open opportunities again over the available "
        'rotation members by weight and capacity (Getfly\'s "shuffle opportunities"); '
        "manager or CAMPAIGN_EDIT. Stages stay; each change is an OpportunityAssigned with "
        "reason REBALANCE.",
    )
    async def rebalance_opportunities(
        self, info: Info[Context, None], campaign_id: strawberry.ID
    ) -> BulkResult:
        outcome = await bulk.rebalance(
            decode_id(campaign_id, "Campaign"), info.context.require_viewer()
        )
        return BulkResult.of(outcome)
