"""Rotting: an open card that has stayed in its step longer than the step's
`rotting_days` (0: at once) is rotting from `stage_entered_at + rotting_days` on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tortoise import timezone

from models import Opportunity, OpportunityResult, raw_sql
from resolvers.stays import entered_at


def rotting_since(
    card: Opportunity, rotting_days: int | None, now: datetime | None = None
) -> datetime | None:
    """When the card started rotting; None while it is not rotting."""
    if rotting_days is None or card.result != OpportunityResult.OPEN:
        return None
    since = entered_at(card) + timedelta(days=rotting_days)
    return since if since <= (now or timezone.now()) else None


async def rotting_counts(stages: Sequence[tuple[int, int | None]]) -> list[int]:
    """How many open cards rot now in each (stage pk, rotting days): one query."""
    now = timezone.now()
    rotting = [(pk, days) for pk, days in stages if days is not None]
    if not rotting:
        return [0 for _ in stages]
    conditions: list[str] = []
    values: list[object] = [OpportunityResult.OPEN.value]
    for pk, days in rotting:
        stage_mark, entered_mark = raw_sql.marks(2, len(values) + 1).split(", ")
        conditions.append(f"(stage_id = {stage_mark} AND stage_entered_at <= {entered_mark})")
        values += [pk, now - timedelta(days=days)]
    found = await raw_sql.records(
        "SELECT stage_id, COUNT(*) AS rotting FROM opportunity WHERE result = $1 "
        f"AND ({' OR '.join(conditions)}) GROUP BY stage_id",
        *values,
    )
    counts = {row["stage_id"]: row["rotting"] for row in found}
    return [counts.get(pk, 0) for pk, _ in stages]
