"""Per-operation dataloaders: every relation resolves in one query per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar, cast

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q
from tortoise.models import Model

from models import (
    Campaign,
    CampaignMember,
    Customer,
    Opportunity,
    OpportunityResult,
    Stage,
    User,
)

M = TypeVar("M", bound=Model)
K = TypeVar("K")
V = TypeVar("V")


def by_id(model: type[M]) -> DataLoader[int, M | None]:
    async def load(ids: list[int]) -> list[M | None]:
        found = {row.pk: row for row in await model.filter(id__in=ids)}
        return [found.get(pk) for pk in ids]

    return DataLoader(load_fn=load)


def grouped(
    fetch: Callable[[list[int]], Awaitable[Iterable[V]]], key: Callable[[V], int]
) -> DataLoader[int, list[V]]:
    async def load(ids: list[int]) -> list[list[V]]:
        groups: dict[int, list[V]] = defaultdict(list)
        for row in await fetch(ids):
            groups[key(row)].append(row)
        return [groups.get(pk, []) for pk in ids]

    return DataLoader(load_fn=load)


@dataclass(frozen=True, slots=True)
class StageTotals:
    count: int = 0
    total_amount: Decimal = Decimal(0)
    weighted_amount: Decimal = Decimal(0)


async def _stage_totals(stage_ids: Sequence[int]) -> list[StageTotals]:
    totals: dict[int, StageTotals] = {}
    rows = await Opportunity.filter(stage_id__in=list(stage_ids)).values_list(
        "stage_id", "amount", "probability", "result"
    )
    for stage_id, amount, probability, result in rows:
        current = totals.get(stage_id, StageTotals())
        amount = amount or Decimal(0)
        weighted = amount * probability / 100 if result == OpportunityResult.OPEN else 0
        totals[stage_id] = StageTotals(
            current.count + 1,
            current.total_amount + amount,
            current.weighted_amount + weighted,
        )
    return [totals.get(pk, StageTotals()) for pk in stage_ids]


class Loaders:
    """Fresh for each operation (and each subscription event), so never stale."""

    def __init__(self, viewer: User | None) -> None:
        self.viewer = viewer
        self.user_by_id = by_id(User)
        self.customer_by_id = by_id(Customer)
        self.campaign_by_id = by_id(Campaign)
        self.stage_by_id = by_id(Stage)
        self.stages_by_campaign = grouped(
            lambda ids: Stage.filter(campaign_id__in=ids).order_by("position"),
            lambda stage: stage.campaign_id,
        )
        self.members_by_campaign = grouped(
            lambda ids: CampaignMember.filter(campaign_id__in=ids).order_by("position"),
            lambda member: member.campaign_id,
        )
        self.stage_totals_by_stage: DataLoader[int, StageTotals] = DataLoader(load_fn=_stage_totals)
        self.contact_visible_by_customer: DataLoader[int, bool] = DataLoader(
            load_fn=self._contact_visible
        )

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
