"""A campaign's pipeline figures over the cards created in a window: counts by result and
their amounts, losses by managed reason, the forecast by month, and per step how many
cards entered it, advanced from it, were lost in it and how long their stays lasted.

Two statements, whatever the number of cards: one groups the cards, one the stays (each
card's stays in order, a window function giving the highest step each later stay
reached). Amounts are whole cents (resolvers/money.py): PostgreSQL sums them; SQLite,
whose integers would overflow on the largest amounts, returns the cards for them to be
summed here.

The rules, as Campaign.stats documents them:
- a card *entered* a step when it had a stay there (its first placement included);
- it *advanced* from that step when a later stay was in a step of higher position (as
  the steps are ordered now), or it is won;
- it was *lost here* when it is lost and its last stay, the one the loss ended, was here
  (a lost card moved afterwards does not enter the step it is moved to).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from models import Opportunity, OpportunityResult, raw_sql
from resolvers import money


@dataclass(slots=True)
class Sums:
    count: int = 0
    cents: int = 0
    weighted: int = 0  # cents x percent

    def add(self, count: int, cents: int, weighted: int) -> None:
        self.count += count
        self.cents += cents
        self.weighted += weighted


@dataclass(frozen=True, slots=True)
class StageFigures:
    entered: int = 0
    advanced: int = 0
    lost_here: int = 0
    seconds: float = 0.0  # over the ended stays
    ended: int = 0

    @property
    def average_seconds(self) -> float | None:
        return self.seconds / self.ended if self.ended else None


@dataclass(slots=True)
class CampaignFigures:
    by_result: dict[OpportunityResult, Sums] = field(default_factory=dict)
    losses: dict[int | None, Sums] = field(default_factory=dict)  # by loss reason
    forecast: dict[str, Sums] = field(default_factory=dict)  # by YYYY-MM, open cards
    stages: dict[int, StageFigures] = field(default_factory=dict)

    def of_result(self, result: OpportunityResult) -> Sums:
        return self.by_result.get(result, Sums())

    @property
    def win_rate(self) -> float | None:
        won = self.of_result(OpportunityResult.WON).count
        closed = won + self.of_result(OpportunityResult.LOST).count
        return won / closed if closed else None

    def add(self, result: str, reason: int | None, month: str | None, sums: Sums) -> None:
        self.by_result.setdefault(OpportunityResult(result), Sums()).add(
            sums.count, sums.cents, sums.weighted
        )
        if result == OpportunityResult.LOST.value:
            self.losses.setdefault(reason, Sums()).add(sums.count, sums.cents, 0)
        if result == OpportunityResult.OPEN.value and month is not None:
            self.forecast.setdefault(month, Sums()).add(sums.count, 0, sums.weighted)


async def campaign_figures(
    campaign_pk: int, since: datetime | None, until: datetime | None
) -> CampaignFigures:
    """The figures over the campaign's cards created in [since, until) (either end open
    when None), as stored at the moment of the read."""
    cards, values = _cards(campaign_pk, since, until)
    figures = CampaignFigures()
    if raw_sql.on_postgres():
        for row in await raw_sql.records(_CARD_SUMS.format(cards=cards), *values):
            sums = Sums(int(row["count"]), int(row["cents"]), int(row["weighted"]))
            figures.add(row["result"], row["reason"], row["month"], sums)
    else:
        _sum_here(figures, await raw_sql.records(_CARD_ROWS.format(cards=cards), *values))
    for row in await raw_sql.records(_STAGE_FIGURES.format(cards=cards), *values):
        figures.stages[row["stage_id"]] = StageFigures(
            int(row["entered"]),
            int(row["advanced"]),
            int(row["lost_here"]),
            float(row["seconds"] or 0),
            int(row["ended"]),
        )
    return figures


def _cards(
    campaign_pk: int, since: datetime | None, until: datetime | None
) -> tuple[str, list[object]]:
    """The window's cards as a SELECT of the opportunity table, and its values."""
    conditions: list[str] = ["campaign_id = $1"]
    values: list[object] = [campaign_pk]
    for operator, bound in ((">=", since), ("<", until)):
        if bound is not None:
            values.append(bound.astimezone(UTC))
            conditions.append(f"created_at {operator} ${len(values)}")
    return f"SELECT * FROM opportunity WHERE {' AND '.join(conditions)}", values


_CARD_SUMS = """
SELECT c.result,
       CASE WHEN c.result = 'LOST' THEN c.loss_reason_id END AS reason,
       CASE WHEN c.result = 'OPEN' AND c.expected_close_at IS NOT NULL
            THEN to_char(c.expected_close_at AT TIME ZONE 'UTC', 'YYYY-MM') END AS month,
       COUNT(*) AS count,
       COALESCE(SUM(ROUND(c.amount * 100)), 0) AS cents,
       COALESCE(SUM(ROUND(c.amount * 100) * c.probability), 0) AS weighted
FROM ({cards}) c
GROUP BY 1, 2, 3
"""

_CARD_ROWS = """
SELECT c.result, c.loss_reason_id AS reason, c.expected_close_at, c.amount, c.probability
FROM ({cards}) c
"""


def _sum_here(figures: CampaignFigures, rows: Iterable[Mapping[str, Any]]) -> None:
    as_datetime = Opportunity._meta.fields_map["expected_close_at"].to_python_value
    for row in rows:
        cents = money.cents_of(row["amount"])
        closing = row["expected_close_at"]
        month = None if closing is None else f"{as_datetime(closing).astimezone(UTC):%Y-%m}"
        figures.add(row["result"], row["reason"], month, Sums(1, cents, cents * row["probability"]))


_STAGE_FIGURES = """
WITH stays AS (
  SELECT y.opportunity_id, y.stage_id, y.seconds, s.position, c.result,
         MAX(s.position) OVER (
           PARTITION BY y.opportunity_id ORDER BY y.entered_at, y.id
           ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_top,
         ROW_NUMBER() OVER (
           PARTITION BY y.opportunity_id ORDER BY y.entered_at DESC, y.id DESC) AS from_last
  FROM ({cards}) c
  JOIN stage_stay y ON y.opportunity_id = c.id
  JOIN stage s ON s.id = y.stage_id
),
by_card AS (
  SELECT stage_id,
         MAX(CASE WHEN later_top > position OR result = 'WON' THEN 1 ELSE 0 END) AS advanced,
         MAX(CASE WHEN from_last = 1 AND result = 'LOST' THEN 1 ELSE 0 END) AS lost_here,
         SUM(seconds) AS seconds,
         COUNT(seconds) AS ended
  FROM stays
  GROUP BY stage_id, opportunity_id
)
SELECT stage_id, COUNT(*) AS entered, SUM(advanced) AS advanced, SUM(lost_here) AS lost_here,
       SUM(seconds) AS seconds, SUM(ended) AS ended
FROM by_card
GROUP BY stage_id
"""
