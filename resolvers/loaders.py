"""Per-operation dataloaders: every relation resolves in one query per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import cached_property
from typing import TypeVar, cast

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q
from tortoise.models import Model

from models import (
    Campaign,
    CampaignMember,
    ChatMessage,
    Communication,
    Customer,
    LossReason,
    Opportunity,
    Order,
    Stage,
    StageChange,
    Task,
    User,
    raw_sql,
)
from resolvers.card_rows import campaign_of, campaign_pk_of, card_and_campaign_columns, card_of
from resolvers.chat_counts import Unread, viewer_unread
from resolvers.columns import column_pages
from resolvers.event_rows import EventRows
from resolvers.pagination import Page, PageArgs
from resolvers.stage_totals import ColumnTotals, column_totals
from resolvers.stays import average_seconds

M = TypeVar("M", bound=Model)
K = TypeVar("K")
V = TypeVar("V")
# A stage's page of cards: the stage, the page's arguments, the card columns it reads.
ColumnKey = tuple[int, PageArgs, frozenset[str] | None]
_OWN_ATTRIBUTES = frozenset({"viewer", "_rows", "_customers"})  # Loaders.__init__'s


def by_id(model: type[M]) -> Callable[[list[int]], Awaitable[list[M | None]]]:
    """Rows by primary key, in one statement per batch (written out: building it with the
    ORM cost more than running it, the more so for a board's 2,000 customers)."""
    table = model._meta.db_table

    async def load(ids: list[int]) -> list[M | None]:
        if not ids:
            return []
        in_list = raw_sql.marks(len(ids))
        sql = f'SELECT * FROM "{table}" WHERE id IN ({in_list})'
        found = {row.pk: row for row in await raw_sql.instances(model, sql, *ids)}
        return [found.get(pk) for pk in ids]

    return load


async def cards_with_campaigns(ids: list[int]) -> tuple[list[Opportunity | None], list[Campaign]]:
    """The cards of `ids` (None where there is none) and their campaigns, in one statement."""
    if not ids:
        return [], []
    rows = await raw_sql.records(
        f"SELECT {card_and_campaign_columns()} FROM opportunity o "
        f"JOIN campaign c ON c.id = o.campaign_id WHERE o.id IN ({raw_sql.marks(len(ids))})",
        *ids,
    )
    found = {card.pk: card for card in map(card_of, rows)}
    campaigns = {campaign_pk_of(row): row for row in rows}
    return [found.get(pk) for pk in ids], [campaign_of(row) for row in campaigns.values()]


def grouped(
    fetch: Callable[[list[int]], Awaitable[Iterable[V]]], key: Callable[[V], int]
) -> Callable[[list[int]], Awaitable[list[list[V]]]]:
    async def load(ids: list[int]) -> list[list[V]]:
        groups: dict[int, list[V]] = defaultdict(list)
        for row in await fetch(ids):
            groups[key(row)].append(row)
        return [groups.get(pk, []) for pk in ids]

    return load


async def _card_counts(stage_ids: Sequence[int]) -> list[int]:
    if not stage_ids:
        return []
    rows = await raw_sql.records(
        f"SELECT stage_id, COUNT(*) AS cards FROM opportunity "
        f"WHERE stage_id IN ({raw_sql.marks(len(stage_ids))}) GROUP BY stage_id",
        *stage_ids,
    )
    counts = {row["stage_id"]: row["cards"] for row in rows}
    return [counts.get(pk, 0) for pk in stage_ids]


class Loaders:
    """Fresh for each operation (and each execution of a live event), so never stale.

    Every loader but the contact guard's reads the same rows for any viewer: for a
    live event those come from the event's rows (`rows`), read once for all the
    groups that execute it.
    """

    # Each loader is made on first use: most events touch two or three of them.
    def __init__(self, viewer: User | None, rows: EventRows | None = None) -> None:
        self.viewer = viewer
        self._rows = rows
        self._customers: dict[int, Customer] = {}

    def release(self) -> None:
        """Forgets every load (later loads read again). Each dataloader calls back into
        these loaders (its load function is one of their methods): a cycle, which only a
        collection of an older generation would free, with every row it holds. A board
        holds 4,000, and those collections took a fifth of its CPU, 100 ms and more each."""
        made = self.__dict__  # where cached_property keeps each loader once made
        if made.keys() - _OWN_ATTRIBUTES:  # most operations made none
            for name in [name for name, value in made.items() if isinstance(value, DataLoader)]:
                del made[name]
        if self._customers:
            self._customers = {}

    def _neutral(
        self, name: str, load: Callable[[list[K]], Awaitable[Sequence[V]]]
    ) -> DataLoader[K, V]:
        """A dataloader whose answers are the same for every viewer."""
        return DataLoader(load_fn=load if self._rows is None else self._rows.sharing(name, load))

    @cached_property
    def user_by_id(self) -> DataLoader[int, User | None]:
        return self._neutral("user_by_id", by_id(User))

    @cached_property
    def customer_by_id(self) -> DataLoader[int, Customer | None]:
        return self._neutral("customer_by_id", by_id(Customer))

    @cached_property
    def campaign_by_id(self) -> DataLoader[int, Campaign | None]:
        return self._neutral("campaign_by_id", by_id(Campaign))

    @cached_property
    def stage_by_id(self) -> DataLoader[int, Stage | None]:
        return self._neutral("stage_by_id", by_id(Stage))

    @cached_property
    def opportunity_by_id(self) -> DataLoader[int, Opportunity | None]:
        return self._neutral("opportunity_by_id", self._cards)

    async def _cards(self, ids: list[int]) -> list[Opportunity | None]:
        """Cards by id, each with its campaign in the same statement: whatever reads a
        card by id (a card's guard, every change to a card) asks next whether its
        campaign shows it, and that would be a second round trip."""
        cards, campaigns = await cards_with_campaigns(ids)
        self.campaign_by_id.prime_many({campaign.pk: campaign for campaign in campaigns})
        return cards

    @cached_property
    def task_by_id(self) -> DataLoader[int, Task | None]:
        return self._neutral("task_by_id", by_id(Task))

    @cached_property
    def order_by_id(self) -> DataLoader[int, Order | None]:
        return self._neutral("order_by_id", by_id(Order))

    @cached_property
    def communication_by_id(self) -> DataLoader[int, Communication | None]:
        return self._neutral("communication_by_id", by_id(Communication))

    @cached_property
    def chat_message_by_id(self) -> DataLoader[int, ChatMessage | None]:
        return self._neutral("chat_message_by_id", by_id(ChatMessage))

    @cached_property
    def stages_by_campaign(self) -> DataLoader[int, list[Stage]]:
        return self._neutral(
            "stages_by_campaign",
            grouped(
                lambda ids: Stage.filter(campaign_id__in=ids, removed_at__isnull=True).order_by(
                    "position"
                ),
                lambda stage: stage.campaign_id,
            ),
        )

    @cached_property
    def members_by_campaign(self) -> DataLoader[int, list[CampaignMember]]:
        return self._neutral(
            "members_by_campaign",
            grouped(
                lambda ids: CampaignMember.filter(campaign_id__in=ids).order_by("position"),
                lambda member: member.campaign_id,
            ),
        )

    @cached_property
    def orders_by_opportunity(self) -> DataLoader[int, list[Order]]:
        return self._neutral(
            "orders_by_opportunity",
            grouped(
                lambda ids: Order.filter(opportunity_id__in=ids).order_by("id"),
                lambda order: order.opportunity_id,
            ),
        )

    @cached_property
    def tasks_by_opportunity(self) -> DataLoader[int, list[Task]]:
        return self._neutral(
            "tasks_by_opportunity",
            grouped(
                lambda ids: Task.filter(opportunity_id__in=ids).order_by("id"),
                lambda task: task.opportunity_id,
            ),
        )

    @cached_property
    def stage_changes_by_opportunity(self) -> DataLoader[int, list[StageChange]]:
        return self._neutral(
            "stage_changes_by_opportunity",
            grouped(
                lambda ids: StageChange.filter(opportunity_id__in=ids).order_by("at", "id"),
                lambda change: change.opportunity_id,
            ),
        )

    @cached_property
    def loss_reason_by_id(self) -> DataLoader[int, LossReason | None]:
        return self._neutral("loss_reason_by_id", by_id(LossReason))

    @cached_property
    def loss_reasons_by_campaign(self) -> DataLoader[int, list[LossReason]]:
        """Archived ones included, in the order they were added."""
        return self._neutral(
            "loss_reasons_by_campaign",
            grouped(
                lambda ids: LossReason.filter(campaign_id__in=ids).order_by("id"),
                lambda reason: reason.campaign_id,
            ),
        )

    @cached_property
    def average_seconds_by_stage(self) -> DataLoader[int, float | None]:
        return self._neutral("average_seconds_by_stage", average_seconds)

    @cached_property
    def card_count_by_stage(self) -> DataLoader[int, int]:
        return self._neutral("card_count_by_stage", _card_counts)

    @cached_property
    def stage_totals_by_stage(self) -> DataLoader[int, ColumnTotals]:
        return self._neutral("stage_totals_by_stage", column_totals)

    @cached_property
    def contact_visible_by_customer(self) -> DataLoader[int, bool]:
        return DataLoader(load_fn=self._contact_visible)

    @cached_property
    def viewer_takes_part(self) -> DataLoader[int, bool]:
        """Whether the viewer is a participant of each campaign: one row each at most,
        where the members loader would read a whole team per campaign."""
        return DataLoader(load_fn=self._takes_part)

    async def _takes_part(self, campaign_pks: list[int]) -> list[bool]:
        if self.viewer is None:
            return [False] * len(campaign_pks)
        found = await CampaignMember.filter(
            user_id=self.viewer.pk, campaign_id__in=campaign_pks
        ).values_list("campaign_id", flat=True)
        taken = set(cast("list[int]", found))
        return [pk in taken for pk in campaign_pks]

    @cached_property
    def chat_unread_by_campaign(self) -> DataLoader[int, Unread | None]:
        """The viewer's own unread count and read marker in each campaign."""
        return DataLoader(load_fn=self._chat_unread)

    async def _chat_unread(self, campaign_pks: list[int]) -> list[Unread | None]:
        if self.viewer is None:
            return [None] * len(campaign_pks)
        return await viewer_unread(self.viewer, campaign_pks)

    @cached_property
    def column_by_stage(self) -> DataLoader[ColumnKey, Page[Opportunity]]:
        """A stage's page of cards, read with the columns named (None: all of them)."""
        return DataLoader(load_fn=self._columns)

    async def _columns(self, keys: list[ColumnKey]) -> list[Page[Opportunity]]:
        """Pages of many columns: one query per distinct page arguments and columns
        (usually one)."""
        stage_ids_by_read: dict[tuple[PageArgs, frozenset[str] | None], list[int]]
        stage_ids_by_read = defaultdict(list)
        for stage_id, args, only in keys:
            stage_ids_by_read[(args, only)].append(stage_id)
        pages: dict[ColumnKey, Page[Opportunity]] = {}
        for (args, only), stage_ids in stage_ids_by_read.items():
            counts = await self.card_count_by_stage.load_many(stage_ids)
            found, customers = await column_pages(
                stage_ids, args, dict(zip(stage_ids, counts, strict=True)), only
            )
            self._customers.update(customers)
            for stage_id, page in zip(stage_ids, found, strict=True):
                pages[(stage_id, args, only)] = page
        return [pages[key] for key in keys]

    async def customers(self, ids: list[int]) -> list[Customer | None]:
        """Customers by id: those a column page brought along (partial: the columns a
        card shows of its customer), the others in one batch."""
        missing = [pk for pk in ids if pk not in self._customers]
        if missing:
            for pk, customer in zip(
                missing, await self.customer_by_id.load_many(missing), strict=True
            ):
                if customer is not None:
                    self._customers[pk] = customer
        return [self._customers.get(pk) for pk in ids]

    async def _contact_visible(self, customer_ids: list[int]) -> list[bool]:
        """Whether the viewer holds or manages an opportunity of each customer."""
        if self.viewer is None:
            return [False for _ in customer_ids]
        viewer_id = self.viewer.pk
        rows = (
            await Opportunity.filter(
                Q(owner_id=viewer_id) | Q(campaign__manager_id=viewer_id),
                customer_id__in=customer_ids,
            )
            .distinct()
            .values_list("customer_id", flat=True)
        )
        linked = set(cast("list[int]", rows))
        return [pk in linked for pk in customer_ids]
