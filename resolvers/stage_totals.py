"""A column's figures: its cards, their amounts, the open ones' weighted amount and how
many of those rot. Read by `Stage` fields and stored with every card event for the
columns it touched, computed inside the writing transaction, so that a board can keep
its column headers right from events alone, on replay as live.

Amounts are summed as whole cents (resolvers/money.py). PostgreSQL keeps each stage's
count and sums on its row, moved by a trigger with every card row (migration 0009), so
that neither a move nor a board sums a column; only the rotting count, which changes
with time, is counted, and only for a stage with rotting days. SQLite sums its rows.
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


def _rotting(cards: str, now: str) -> str:
    """How many of the open `cards` (a FROM item: the cards of stage `s`) are past `s`'s
    rotting days as of `now`: read only for a stage that has them."""
    return f"""
CROSS JOIN LATERAL (
  SELECT COUNT(*) AS rotting FROM {cards}
  WHERE s.rotting_days IS NOT NULL AND o.result = 'OPEN'
    AND o.stage_entered_at <= {now}::timestamptz - make_interval(days => s.rotting_days)
) r"""


# Each stage's running totals (kept on its row by a trigger: migration 0009), in the
# order of the int[] $1, as of $2.
_READ = f"""
SELECT wanted.stage_id, wanted.n, s.card_count AS count, s.card_cents AS cents,
       s.open_weighted AS weighted, r.rotting
FROM unnest($1::int[]) WITH ORDINALITY AS wanted(stage_id, n)
JOIN stage s ON s.id = wanted.stage_id
{_rotting("(SELECT * FROM opportunity WHERE stage_id = wanted.stage_id) o", "$2")}
"""

# The same in the statement that logs an event, for the one or two stages $1 and $2 (null
# for one), as of $3, with the card $4 (0 for none) replaced by its new row: $5 to $8 its
# amount, probability, result and stay's start, $9 its stage. Two values rather than an
# array, so that the planner knows how many: the statement that logs a move keeps a
# generic plan once prepared, instead of being planned again at every move.
_NEW = "$9::int = s.id"
_NEW_CENTS = "COALESCE(ROUND($5::numeric * 100), 0)"
_IN_EVENT = f"""jsonb_build_object('stage_totals', (
  SELECT jsonb_agg(jsonb_build_object(
           'stage_id', totals.stage_id, 'count', totals.count, 'cents', totals.cents,
           'weighted', totals.weighted, 'rotting', totals.rotting) ORDER BY totals.n)
  FROM (
    SELECT wanted.stage_id, wanted.n,
      s.card_count - CASE WHEN old.stage_id = s.id THEN 1 ELSE 0 END
                   + CASE WHEN {_NEW} THEN 1 ELSE 0 END AS count,
      s.card_cents - CASE WHEN old.stage_id = s.id
                          THEN COALESCE(ROUND(old.amount * 100), 0) ELSE 0 END
                   + CASE WHEN {_NEW} THEN {_NEW_CENTS} ELSE 0 END AS cents,
      s.open_weighted
        - CASE WHEN old.stage_id = s.id AND old.result = 'OPEN'
               THEN COALESCE(ROUND(old.amount * 100), 0) * old.probability ELSE 0 END
        + CASE WHEN {_NEW} AND $7::varchar = 'OPEN'
               THEN {_NEW_CENTS} * $6::int ELSE 0 END AS weighted,
      r.rotting
    FROM (VALUES ($1::int, 1), ($2::int, 2)) AS wanted(stage_id, n)
    JOIN stage s ON s.id = wanted.stage_id
    LEFT JOIN opportunity old ON old.id = $4::int
    {
    _rotting(
        '''(
      SELECT o.result, o.stage_entered_at FROM opportunity o
      WHERE o.stage_id = wanted.stage_id AND o.id <> $4::int
      UNION ALL
      SELECT $7::varchar, $8::timestamptz WHERE $9::int = wanted.stage_id
    ) o''',
        "$3::timestamptz",
    )
}
  ) totals))"""


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
