"""Everything a sales team does to opportunities: inputs and mutations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import UNSET
from strawberry.types import Info

import schema.enums  # noqa: F401  (publishes the enums used below)
from models import CommunicationKind, OpportunitySource
from resolvers import activities, assignment, board, opportunities, outcomes
from resolvers.access import card_campaign, member_ids, visible_card
from resolvers.campaigns import get_visible_campaign
from resolvers.context import Context
from resolvers.errors import not_found
from resolvers.ids import decode_id, encode_id
from resolvers.opportunities import NewCard, OwnerChoice
from schema.guards import (
    CanAssignOpportunity,
    CanClaimOpportunity,
    CanCompleteTask,
    CanCopyOpportunity,
    CanCreateOpportunity,
    CanDeleteOpportunity,
    CanEditOpportunity,
    CanReopenOpportunity,
    IsAuthenticated,
    campaign_of_input,
    judged_card,
)
from schema.opportunity import Communication, Opportunity, Order, Task
from schema.retry_safe import (
    KEY_DESCRIPTION,
    RetryKeyArgument,
    card_answer,
    deleted_answer,
    retry_safe,
    row_answer,
)


@strawberry.input
class CreateOpportunityInput:
    campaign_id: strawberry.ID
    customer_id: strawberry.ID
    name: str | None = strawberry.field(
        default=None, description="Defaults to the customer's name."
    )
    probability: int | None = strawberry.field(
        default=None, description="Defaults to the stage's probability, else 0."
    )
    stage_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the campaign's first approach step."
    )
    owner: OwnerChoice = OwnerChoice.SELF
    owner_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Required when owner is USER; must be the manager or a participant.",
    )
    source: OpportunitySource = OpportunitySource.COMPANY_DATA
    amount: Decimal | None = None
    expected_close_at: datetime | None = None
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class UpdateOpportunityInput:
    id: strawberry.ID
    expected_version: int | None = strawberry.field(
        default=None, description="When given and stale, the change is refused with CONFLICT."
    )
    name: str | None = UNSET
    probability: int | None = UNSET
    amount: Decimal | None = UNSET
    expected_close_at: datetime | None = strawberry.field(
        default=UNSET, description="Null clears it; omitted leaves it."
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class MoveOpportunityInput:
    id: strawberry.ID
    stage_id: strawberry.ID
    after_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Place it right after this card of the target stage; null or omitted puts "
        "it first.",
    )
    expected_version: int | None = None
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class AssignOpportunityInput:
    id: strawberry.ID
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Null leaves it unowned."
    )
    expected_version: int | None = None
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class CopyOpportunityInput:
    id: strawberry.ID
    campaign_id: strawberry.ID = strawberry.field(
        description="The same campaign is allowed only when it allows duplicate opportunities."
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class MarkOpportunityWonInput:
    id: strawberry.ID
    expected_version: int | None = None
    order_amount: Decimal = strawberry.field(
        description="The order created with the win, in the same transaction."
    )
    order_note: str | None = None
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class MarkOpportunityLostInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str = strawberry.field(description="Required, not blank.")
    loss_reason_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="One of the campaign's loss reasons (not archived); `reason` stays the note.",
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class LogCommunicationInput:
    opportunity_id: strawberry.ID
    kind: CommunicationKind
    content: str
    occurred_at: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class CreateTaskInput:
    opportunity_id: strawberry.ID
    title: str
    due_at: datetime | None = None
    assignee_id: strawberry.ID | None = None
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class CreateOrderInput:
    opportunity_id: strawberry.ID
    amount: Decimal
    note: str | None = None
    client_mutation_id: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.type
class OpportunityMutation:
    @strawberry.mutation(
        extensions=retry_safe(card_answer, IsAuthenticated, CanCreateOpportunity),
        description="Adds a customer to a campaign, from the campaign's side or the customer's: "
        "both send this.",
    )
    async def create_opportunity(
        self, info: Info[Context, None], input: CreateOpportunityInput
    ) -> Opportunity:
        campaign = await campaign_of_input(info.context, input)
        card = await opportunities.create_opportunity(
            info.context,
            campaign,
            NewCard(
                customer_id=input.customer_id,
                name=input.name,
                probability=input.probability,
                stage_id=input.stage_id,
                owner=input.owner,
                owner_id=input.owner_id,
                source=input.source,
                amount=input.amount,
                expected_close_at=input.expected_close_at,
            ),
        )
        return Opportunity.from_model(card)

    @strawberry.mutation(extensions=retry_safe(card_answer, IsAuthenticated))
    async def update_opportunity(
        self, info: Info[Context, None], input: UpdateOpportunityInput
    ) -> Opportunity:
        card, _changed = await opportunities.update_opportunity(
            judged_card(info.context, input.id, CanEditOpportunity),
            info.context.require_viewer(),
            expected_version=input.expected_version,
            name=input.name,
            probability=input.probability,
            amount=input.amount,
            expected_close_at=input.expected_close_at,
        )
        return Opportunity.from_model(card)

    @strawberry.mutation(
        extensions=retry_safe(card_answer, IsAuthenticated),
        description="Kanban drag and drop: change stage and/or place within the column.",
    )
    async def move_opportunity(
        self, info: Info[Context, None], input: MoveOpportunityInput
    ) -> Opportunity:
        move = await board.move_opportunity(
            # CanEditOpportunity, judged on the card as the move locks it: one read fewer.
            judged_card(info.context, input.id, CanEditOpportunity),
            info.context.require_viewer(),
            stage_id=input.stage_id,
            after_id=input.after_id,
            expected_version=input.expected_version,
        )
        return Opportunity.from_model(move.card)

    @strawberry.mutation(
        extensions=retry_safe(card_answer, IsAuthenticated, CanAssignOpportunity),
    )
    async def assign_opportunity(
        self, info: Info[Context, None], input: AssignOpportunityInput
    ) -> Opportunity:
        card = await visible_card(info.context, input.id)
        owner_pk = None if input.owner_id is None else decode_id(input.owner_id, "User")
        card = await assignment.assign(
            card, owner_pk, info.context.require_viewer(), input.expected_version
        )
        return Opportunity.from_model(card)

    @strawberry.mutation(
        extensions=retry_safe(card_answer, IsAuthenticated),
        description="A participant takes an unowned opportunity; CONFLICT if someone was first.",
    )
    async def claim_opportunity(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        client_mutation_id: RetryKeyArgument = None,
    ) -> Opportunity:
        card = await assignment.claim(
            judged_card(info.context, id, CanClaimOpportunity), info.context.require_viewer()
        )
        return Opportunity.from_model(card)

    @strawberry.mutation(
        extensions=retry_safe(card_answer, IsAuthenticated, CanCopyOpportunity),
        description="The copy lands in the first approach step of the target campaign.",
    )
    async def copy_opportunity(
        self, info: Info[Context, None], input: CopyOpportunityInput
    ) -> Opportunity:
        card = await opportunities.copy_opportunity(
            info.context,
            await visible_card(info.context, input.id),
            await get_visible_campaign(info.context, input.campaign_id),
        )
        return Opportunity.from_model(card)

    @strawberry.mutation(extensions=retry_safe(card_answer, IsAuthenticated, CanEditOpportunity))
    async def mark_opportunity_won(
        self, info: Info[Context, None], input: MarkOpportunityWonInput
    ) -> Opportunity:
        card, _order = await outcomes.mark_won(
            await visible_card(info.context, input.id),
            info.context.require_viewer(),
            expected_version=input.expected_version,
            order_amount=input.order_amount,
            order_note=input.order_note,
        )
        return Opportunity.from_model(card)

    @strawberry.mutation(extensions=retry_safe(card_answer, IsAuthenticated, CanEditOpportunity))
    async def mark_opportunity_lost(
        self, info: Info[Context, None], input: MarkOpportunityLostInput
    ) -> Opportunity:
        card = await outcomes.mark_lost(
            await visible_card(info.context, input.id),
            info.context.require_viewer(),
            expected_version=input.expected_version,
            reason=input.reason,
            loss_reason_id=input.loss_reason_id,
        )
        return Opportunity.from_model(card)

    @strawberry.mutation(
        extensions=retry_safe(card_answer, IsAuthenticated),
    )
    async def reopen_opportunity(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        client_mutation_id: RetryKeyArgument = None,
    ) -> Opportunity:
        card = await outcomes.reopen(
            judged_card(info.context, id, CanReopenOpportunity), info.context.require_viewer()
        )
        return Opportunity.from_model(card)

    @strawberry.mutation(
        extensions=retry_safe(deleted_answer, IsAuthenticated),
        description="Returns the deleted opportunity's id.",
    )
    async def delete_opportunity(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        client_mutation_id: RetryKeyArgument = None,
    ) -> strawberry.ID:
        card = judged_card(info.context, id, CanDeleteOpportunity)
        await opportunities.delete_opportunity(card, info.context.require_viewer())
        return strawberry.ID(encode_id("Opportunity", card.pk))

    @strawberry.mutation(
        extensions=retry_safe(row_answer("Communication"), IsAuthenticated, CanEditOpportunity),
    )
    async def log_communication(
        self, info: Info[Context, None], input: LogCommunicationInput
    ) -> Communication:
        row = await activities.log_communication(
            await visible_card(info.context, input.opportunity_id),
            info.context.require_viewer(),
            kind=input.kind,
            content=input.content,
            occurred_at=input.occurred_at,
        )
        return Communication.from_model(row)

    @strawberry.mutation(
        extensions=retry_safe(row_answer("Task"), IsAuthenticated, CanEditOpportunity),
    )
    async def create_task(self, info: Info[Context, None], input: CreateTaskInput) -> Task:
        card = await visible_card(info.context, input.opportunity_id)
        row = await activities.create_task(
            card,
            await member_ids(info.context, await card_campaign(info.context, card)),
            title=input.title,
            due_at=input.due_at,
            assignee_id=input.assignee_id,
        )
        return Task.from_model(row)

    @strawberry.mutation(permission_classes=[IsAuthenticated, CanCompleteTask])
    async def complete_task(self, info: Info[Context, None], id: strawberry.ID) -> Task:
        task = await info.context.loaders.task_by_id.load(decode_id(id, "Task"))
        if task is None:
            raise not_found("Task", id)
        return Task.from_model(await activities.complete_task(task))

    @strawberry.mutation(
        extensions=retry_safe(row_answer("Order"), IsAuthenticated, CanEditOpportunity),
    )
    async def create_order(self, info: Info[Context, None], input: CreateOrderInput) -> Order:
        row = await activities.create_order(
            await visible_card(info.context, input.opportunity_id),
            info.context.require_viewer(),
            amount=input.amount,
            note=input.note,
        )
        return Order.from_model(row)
