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
            for row in await raw_sql.records(_READ, list(stage_ids), now)
        }
    else:
        found = await _summed_here(stage_ids, now)
    return [found.get(pk, ColumnTotals(pk)) for pk in stage_ids]


@dataclass(frozen=True, slots=True)
class Replaced:
    """A card whose new row goes in with the statement that logs its event (a move): the
    totals, which read the rows as they were before that statement, leave out its old row
    and count this one."""

    pk: int
    stage_id: int
    amount: Decimal | None
    probability: int
    result: OpportunityResult
    entered_at: datetime


def in_event(stage_ids: Sequence[int], replaced: Replaced | None) -> raw_sql.Statement:
    """PostgreSQL: a jsonb expression, {"stage_totals": [...]} for `stage_ids` (one or
    two) now, for
    the statement that logs a card event to merge into its data (marks from $1). That
    statement may also make the change's own writes (raw_sql.write_then_return): none of
    them but `replaced`'s may touch the columns' cards. On SQLite the caller reads the
    totals with `column_totals` once its writes are made, and logs them with the event."""
    card = (0, None, None, None, None, None) if replaced is None else (
        replaced.pk,
        replaced.amount,
        replaced.probability,
        replaced.result.value,
        replaced.entered_at,
        replaced.stage_id,
    )  # fmt: skip
    first, second = (*stage_ids, None) if len(stage_ids) == 1 else stage_ids
    return _IN_EVENT, (first, second, timezone.now(), *card)


_ITS_CARDS = "opportunity o WHERE o.stage_id = wanted.stage_id"

# A stage's cards with one replaced by its new row ($4: its pk, 0 for none; $5 to $8:
# its new figures; $9: its new stage).
_WITH_ONE_REPLACED = """(
  SELECT o.amount, o.probability, o.result, o.stage_entered_at FROM opportunity o
  WHERE o.stage_id = wanted.stage_id AND o.id <> $4
  UNION ALL
  SELECT $5::numeric, $6::int, $7::varchar, $8::timestamptz WHERE $9::int = wanted.stage_id
) o"""


def _by_stage(wanted: str, now: str, cards: str) -> str:
    """One row per stage of `wanted` (stage_id, n), as of `now` (PostgreSQL), over its
    `cards`: amounts in whole cents, the weighted amount in cents x percent, both exact.
    Each stage's cards are read through its index, whatever plan the statement is given
    once prepared."""
    return f"""
SELECT wanted.stage_id, wanted.n, t.count, t.cents, t.weighted, t.rotting
FROM {wanted}
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
  FROM {cards}
) t
"""


_READ = _by_stage("unnest($1::int[]) WITH ORDINALITY AS wanted(stage_id, n)", "$2", _ITS_CARDS)

# An event touches one column or two ($2 null for one): written as two values rather
# than an array, so that the planner knows how many, and the statement that logs a move
# is given a generic plan once prepared instead of being planned again at every move.
_IN_EVENT = f"""jsonb_build_object('stage_totals', (
  SELECT jsonb_agg(jsonb_build_object(
           'stage_id', totals.stage_id, 'count', totals.count, 'cents', totals.cents,
           'weighted', totals.weighted, 'rotting', totals.rotting) ORDER BY totals.n)
  FROM ({
    _by_stage(
        "(VALUES ($1::int, 1), ($2::int, 2)) AS wanted(stage_id, n)", "$3", _WITH_ONE_REPLACED
    )
}) totals))"""


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
