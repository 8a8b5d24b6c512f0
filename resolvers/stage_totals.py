"""A column's figures: its cards, their amounts, the open ones' weighted amount and how
many of those rot. Read by `Stage` fields and stored with every card event for the
columns it touched, computed inside the writing transaction, so that a board can keep
its column headers right from events alone, on replay as live.

Amounts are summed as whole cents (resolvers/cents.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tortoise import timezone

from models import Opportunity, OpportunityResult, raw_sql
from resolvers import money


@dataclass(frozen=True, slots=True)
class ColumnTotals:
    stage_id: int
    count: int = 0
    cents: int = 0  # the sum of amounts, in cents
    weighted: int = 0  # over the open cards: amount in cents x probability in percent
    rotting: int = 0

    @property
    def total_amount(self) -> Decimal:
        return money.amount(self.cents)

    @property
    def weighted_amount(self) -> Decimal:
        return money.weighted_amount(self.weighted)

    def as_data(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, int]) -> ColumnTotals:
        return cls(**data)


async def column_totals(stage_ids: Sequence[int]) -> list[ColumnTotals]:
    """The figures of each stage now (in the current transaction, if there is one)."""
    if not stage_ids:
        return []
    now = timezone.now()
    if raw_sql.on_postgres():
        found = {
            row["stage_id"]: ColumnTotals(
                row["stage_id"],
                int(row["count"]),
                int(row["cents"]),
                int(row["weighted"]),
                int(row["rotting"]),
            )
            for row in await raw_sql.records(_by_stage("$1", "$2"), list(stage_ids), now)
        }
    else:
        found = await _summed_here(stage_ids, now)
    return [found.get(pk, ColumnTotals(pk)) for pk in stage_ids]


def stored_by_the_database() -> bool:
    """On PostgreSQL a logged event gets its totals from `store_with_event`, one statement
    after the change's writes (which went in one statement with the event itself); on
    SQLite the caller reads them with `column_totals` and logs them with the event."""
    return raw_sql.on_postgres()


async def store_with_event(event_pk: int, stage_ids: Sequence[int]) -> None:
    await raw_sql.execute(_STORE, event_pk, list(stage_ids), timezone.now())


def _by_stage(stages: str, now: str) -> str:
    """One row per stage of the int[] `stages`, in their order (`n`), as of `now`
    (PostgreSQL): amounts in whole cents, the weighted amount in cents x percent, both
    exact. Each stage's cards are read through its index, whatever plan the statement
    is given once prepared."""
    return f"""
SELECT wanted.stage_id, wanted.n, t.count, t.cents, t.weighted, t.rotting
FROM unnest({stages}::int[]) WITH ORDINALITY AS wanted(stage_id, n)
JOIN stage s ON s.id = wanted.stage_id
CROSS JOIN LATERAL (
  SELECT COUNT(*) AS count,
         COALESCE(SUM(ROUND(o.amount * 100)), 0) AS cents,
         COALESCE(SUM(CASE WHEN o.result = 'OPEN'
                           THEN ROUND(o.amount * 100) * o.probability END), 0) AS weighted,
         COUNT(*) FILTER (WHERE o.result = 'OPEN' AND s.rotting_days IS NOT NULL
                          AND o.stage_entered_at
                              <= {now}::timestamptz - make_interval(days => s.rotting_days))
           AS rotting
  FROM opportunity o WHERE o.stage_id = wanted.stage_id
) t
"""


_STORE = f"""
UPDATE campaign_event SET data = data || jsonb_build_object('stage_totals', (
  SELECT jsonb_agg(jsonb_build_object(
           'stage_id', totals.stage_id, 'count', totals.count, 'cents', totals.cents,
           'weighted', totals.weighted, 'rotting', totals.rotting) ORDER BY totals.n)
  FROM ({_by_stage("$2", "$3")}) totals))
WHERE id = $1
"""


async def _summed_here(stage_ids: Sequence[int], now: datetime) -> dict[int, ColumnTotals]:
    as_datetime = Opportunity._meta.fields_map["stage_entered_at"].to_python_value
    rows = await raw_sql.records(
        "SELECT o.stage_id, o.amount, o.probability, o.result, o.stage_entered_at, "
        "o.created_at, s.rotting_days FROM opportunity o JOIN stage s ON s.id = o.stage_id "
        f"WHERE o.stage_id IN ({raw_sql.marks(len(stage_ids))})",
        *stage_ids,
    )
    sums: dict[int, list[int]] = {}
    for row in rows:
        figures = sums.setdefault(row["stage_id"], [0, 0, 0, 0])
        cents = money.cents_of(row["amount"])
        is_open = row["result"] == OpportunityResult.OPEN.value
        entered = as_datetime(row["stage_entered_at"] or row["created_at"])
        days = row["rotting_days"]
        figures[0] += 1
        figures[1] += cents
        figures[2] += cents * row["probability"] if is_open else 0
        figures[3] += is_open and days is not None and entered + timedelta(days=days) <= now
    return {pk: ColumnTotals(pk, *figures) for pk, figures in sums.items()}
