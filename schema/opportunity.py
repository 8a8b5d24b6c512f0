"""Opportunities (the Kanban cards) and what is recorded on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.types import Info
from strawberry.types.base import get_object_definition

import schema.enums  # noqa: F401  (publishes the enums used below)
from models import Communication as CommunicationModel
from models import CommunicationKind, OpportunityResult, OpportunitySource
from models import Customer as CustomerModel
from models import Opportunity as OpportunityModel
from models import Order as OrderModel
from models import StageChange as StageChangeModel
from models import Task as TaskModel
from resolvers import opportunity_reads, rotting, stays
from resolvers.access import can_see_cards, visible_card
from resolvers.context import Context
from resolvers.ids import encode_id
from resolvers.pagination import PageArgs
from schema.guards import IsAuthenticated
from schema.lazy_types import lazy_type
from schema.loss_reason import LossReason
from schema.plain_lists import NOT_PLAIN, answers_from_source
from schema.relay import Connection, Node
from schema.user import User, load_user

if TYPE_CHECKING:
    from schema.campaign import Campaign, Stage
    from schema.customer import Customer

# The types whose fields hold cards (their modules import this one, and this one none
# of them): annotated lazily, built through schema/lazy_types.py.
LazyCampaign = Annotated["Campaign", strawberry.lazy("schema.campaign")]
LazyStage = Annotated["Stage", strawberry.lazy("schema.campaign")]
LazyCustomer = Annotated["Customer", strawberry.lazy("schema.customer")]


async def _stage(info: Info[Context, None], pk: int) -> Stage:
    stage = await info.context.loaders.stage_by_id.load(pk)
    assert stage is not None, "a card's stage cannot be deleted while it holds the card"
    return cast("Stage", lazy_type("schema.campaign", "Stage").from_model(stage))


async def _campaign(info: Info[Context, None], pk: int) -> Campaign:
    campaign = await info.context.loaders.campaign_by_id.load(pk)
    assert campaign is not None, "a card is deleted with its campaign"
    return cast("Campaign", lazy_type("schema.campaign", "Campaign").from_model(campaign))


def customer_builder() -> Callable[[CustomerModel], Customer]:
    """`Customer.from_model` (schema/customer.py imports this module)."""
    return cast(
        "Callable[[CustomerModel], Customer]", lazy_type("schema.customer", "Customer").from_model
    )


def customer_of(row: CustomerModel) -> Customer:
    return customer_builder()(row)


async def _customer(info: Info[Context, None], pk: int) -> Customer:
    customer = await info.context.loaders.customer_by_id.load(pk)
    assert customer is not None, "a card is deleted with its customer"
    return customer_of(customer)


@dataclass(slots=True)  # not frozen: a frozen dataclass sets each field through a call
class Preloaded:
    """A card's owner and customer, fetched for a whole page at once (schema/cards.py)."""

    owner: User | None
    customer: Customer


@strawberry.type
class Opportunity(Node):
    # Plain fields are read straight off the row: the board resolves thousands of them.
    row: strawberry.Private[OpportunityModel]
    name: str = strawberry.field(description="Defaults to the customer's name.")
    probability: int = strawberry.field(description="Percent, 0 to 100.")
    amount: Decimal | None
    source: OpportunitySource
    result: OpportunityResult
    failure_reason: str | None = strawberry.field(description="Set when result is LOST.")
    rank: str = strawberry.field(
        description="Orders this opportunity within its stage; compare as plain byte strings."
    )
    version: int = strawberry.field(
        description="Grows by one on every change; send it back as expectedVersion to detect "
        "concurrent edits."
    )
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    expected_close_at: datetime | None = strawberry.field(
        description="The owner's estimate of when it will close."
    )
    preloaded: strawberry.Private[Preloaded | None] = None

    @classmethod
    def from_model(cls, card: OpportunityModel, preloaded: Preloaded | None = None) -> Opportunity:
        return card_build(None)(card, preloaded)

    def preloaded_or_not_plain(self) -> Preloaded:
        if self.preloaded is None:
            raise NOT_PLAIN
        return self.preloaded

    @strawberry.field
    async def campaign(self, info: Info[Context, None]) -> LazyCampaign:
        return await _campaign(info, self.row.campaign_id)

    @strawberry.field
    @answers_from_source(lambda card: card.preloaded_or_not_plain().customer)
    def customer(self, info: Info[Context, None]) -> LazyCustomer:
        if self.preloaded is not None:
            return self.preloaded.customer
        return _customer(info, self.row.customer_id)  # type: ignore[return-value]

    @strawberry.field
    async def stage(self, info: Info[Context, None]) -> LazyStage:
        return await _stage(info, self.row.stage_id)

    @strawberry.field
    @answers_from_source(lambda card: card.preloaded_or_not_plain().owner)
    def owner(self, info: Info[Context, None]) -> User | None:
        if self.preloaded is not None:
            return self.preloaded.owner
        return load_user(info, self.row.owner_id)  # type: ignore[return-value]

    @strawberry.field(
        description="When an unowned opportunity stops waiting for a claim; null once owned or "
        "if the campaign sets no wait."
    )
    def registration_deadline(self) -> datetime | None:
        return self.row.registration_deadline if self.row.owner_id is None else None

    @strawberry.field(
        description="When it entered its current stage (its creation, for the first placement)."
    )
    def stage_entered_at(self) -> datetime:
        return stays.entered_at(self.row)

    @strawberry.field(
        description="When it started rotting: open, and in its stage for longer than the "
        "stage's rottingDays (stageEnteredAt + rottingDays). Null when not rotting."
    )
    async def rotting_since(self, info: Info[Context, None]) -> datetime | None:
        if self.row.result != OpportunityResult.OPEN:
            return None
        stage = await info.context.loaders.stage_by_id.load(self.row.stage_id)
        return rotting.rotting_since(self.row, stage.rotting_days if stage else None)

    @strawberry.field(
        description="The managed reason chosen when it was lost (failureReason keeps the note)."
    )
    async def loss_reason(self, info: Info[Context, None]) -> LossReason | None:
        if self.row.loss_reason_id is None:
            return None
        row = await info.context.loaders.loss_reason_by_id.load(self.row.loss_reason_id)
        return None if row is None else LossReason.from_model(row)

    @strawberry.field
    async def copied_from(self, info: Info[Context, None]) -> Opportunity | None:
        return await related_card(info, self.row.copied_from_id)

    @strawberry.field
    async def created_by(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.created_by_id)

    @strawberry.field
    async def orders(self, info: Info[Context, None]) -> list[Order]:
        rows = await info.context.loaders.orders_by_opportunity.load(self.row.pk)
        return [Order.from_model(row) for row in rows]

    @strawberry.field
    async def tasks(self, info: Info[Context, None]) -> list[Task]:
        rows = await info.context.loaders.tasks_by_opportunity.load(self.row.pk)
        return [Task.from_model(row) for row in rows]

    @strawberry.field(
        description="Communications logged on this opportunity (they also appear on the customer)."
    )
    async def communications(
        self, first: int | None = None, after: str | None = None
    ) -> Connection[Communication]:
        page = await opportunity_reads.communications_of_card(self.row.pk, PageArgs(first, after))
        return Connection.of(page, Communication.from_model)

    @strawberry.field(
        description="Every stage change, oldest first, including the first placement."
    )
    async def stage_history(self, info: Info[Context, None]) -> list[StageChange]:
        rows = await info.context.loaders.stage_changes_by_opportunity.load(self.row.pk)
        return [StageChange(row=row) for row in rows]


CardBuild = Callable[[OpportunityModel, Preloaded | None], Opportunity]
_card_builds: dict[frozenset[str] | None, CardBuild] = {}
_SET_APART = ("id", "row", "preloaded")  # an Opportunity's fields that are not columns


def card_build(only: frozenset[str] | None) -> CardBuild:
    """Builds a card's object, the card read with the columns `only` (None: all of them),
    by a function generated per set of columns.

    A board builds 2,000, and the dataclass constructor's sixteen keyword arguments cost
    more than reading the values. A partial card (schema/card_columns.py) gets just the
    fields its columns hold: the page's selection reads no other. Every attribute field
    is the card's column of the same name."""
    build = _card_builds.get(only)
    if build is None:
        build = _card_builds[only] = _compiled_card_build(only)
    return build


def _compiled_card_build(only: frozenset[str] | None) -> CardBuild:
    column_of = OpportunityModel._meta.fields_db_projection
    entries = [
        '"id": ID(encode_id("Opportunity", card.id))',
        '"row": card',
        '"preloaded": preloaded',
    ]
    for field in get_object_definition(Opportunity, strict=True).fields:
        name = field.python_name
        if field.base_resolver is not None or name in _SET_APART:
            continue
        if only is None or column_of.get(name) in only:
            entries.append(f"{name!r}: card.{name}")
    source = (
        "def build(card, preloaded):\n"
        "    made = new(Opportunity)\n"
        f"    made.__dict__.update({{{', '.join(entries)}}})\n"
        "    return made\n"
    )
    names: dict[str, Any] = {
        "new": object.__new__,
        "Opportunity": Opportunity,
        "ID": strawberry.ID,
        "encode_id": encode_id,
    }
    exec(compile(source, "<card build>", "exec"), names)
    return cast(CardBuild, names["build"])


@strawberry.type
class StageChange:
    row: strawberry.Private[StageChangeModel]

    @strawberry.field
    async def from_stage(self, info: Info[Context, None]) -> LazyStage | None:
        if self.row.from_stage_id is None:
            return None
        return await _stage(info, self.row.from_stage_id)

    @strawberry.field
    async def to_stage(self, info: Info[Context, None]) -> LazyStage:
        assert self.row.to_stage_id is not None, "history rows of removed stages are moved"
        return await _stage(info, self.row.to_stage_id)

    @strawberry.field
    async def actor(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.actor_id)

    @strawberry.field
    def at(self) -> datetime:
        return self.row.at

    @strawberry.field(
        description="Seconds spent in fromStage before this change; null for the first placement."
    )
    def seconds_in_from_stage(self) -> float | None:
        return self.row.seconds_in_from_stage


async def related_card(info: Info[Context, None], pk: int | None) -> Opportunity | None:
    """A related card, null when it was deleted or is hidden from the viewer."""
    if pk is None:
        return None
    card = await info.context.loaders.opportunity_by_id.load(pk)
    if card is None:
        return None
    campaign = await info.context.loaders.campaign_by_id.load(card.campaign_id)
    if campaign is None or not await can_see_cards(info.context, campaign):
        return None
    return Opportunity.from_model(card)


async def _owning_card(info: Info[Context, None], pk: int) -> Opportunity:
    """The card an order or task belongs to (they are deleted with it)."""
    card = await info.context.loaders.opportunity_by_id.load(pk)
    assert card is not None, "orders and tasks are deleted with their opportunity"
    return Opportunity.from_model(card)


@strawberry.type
class Communication(Node):
    row: strawberry.Private[CommunicationModel]

    @classmethod
    def from_model(cls, row: CommunicationModel) -> Communication:
        return cls(id=strawberry.ID(encode_id("Communication", row.pk)), row=row)

    @strawberry.field
    def kind(self) -> CommunicationKind:
        return self.row.kind

    @strawberry.field
    def content(self) -> str:
        return self.row.content

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.row.occurred_at

    @strawberry.field
    async def author(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.author_id)

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> LazyCustomer:
        return await _customer(info, self.row.customer_id)

    @strawberry.field
    async def opportunity(self, info: Info[Context, None]) -> Opportunity | None:
        return await related_card(info, self.row.opportunity_id)


@strawberry.type
class Order(Node):
    row: strawberry.Private[OrderModel]

    @classmethod
    def from_model(cls, row: OrderModel) -> Order:
        return cls(id=strawberry.ID(encode_id("Order", row.pk)), row=row)

    @strawberry.field
    def amount(self) -> Decimal:
        return self.row.amount

    @strawberry.field
    def note(self) -> str | None:
        return self.row.note

    @strawberry.field
    async def opportunity(self, info: Info[Context, None]) -> Opportunity:
        return await _owning_card(info, self.row.opportunity_id)

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> LazyCustomer:
        return await _customer(info, self.row.customer_id)

    @strawberry.field
    async def campaign(self, info: Info[Context, None]) -> LazyCampaign:
        return await _campaign(info, self.row.campaign_id)

    @strawberry.field
    async def created_by(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.created_by_id)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type
class Task(Node):
    row: strawberry.Private[TaskModel]

    @classmethod
    def from_model(cls, row: TaskModel) -> Task:
        return cls(id=strawberry.ID(encode_id("Task", row.pk)), row=row)

    @strawberry.field
    def title(self) -> str:
        return self.row.title

    @strawberry.field
    def due_at(self) -> datetime | None:
        return self.row.due_at

    @strawberry.field
    def done(self) -> bool:
        return self.row.done

    @strawberry.field
    async def assignee(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.assignee_id)

    @strawberry.field
    async def opportunity(self, info: Info[Context, None]) -> Opportunity:
        return await _owning_card(info, self.row.opportunity_id)


@strawberry.type
class OpportunityQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def opportunity(self, info: Info[Context, None], id: strawberry.ID) -> Opportunity | None:
        return Opportunity.from_model(await visible_card(info.context, id))
