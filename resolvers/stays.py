"""A card's stays in its steps (models/stay.py), kept by every write that puts a card
into a step or takes it out: creation and copy, a move to another step (a move within
a column is not a new stay), won, lost, and a reopen."""

from __future__ import annotations

from datetime import datetime

from models import Opportunity, StayEnd, raw_sql


def entered_at(card: Opportunity) -> datetime:
    """The start of the card's current stay (rows written before stays were kept have
    theirs from their stage history: migration 0007)."""
    return card.stage_entered_at or card.created_at


def seconds_in_stage(card: Opportunity, until: datetime) -> float:
    return max(0.0, (until - entered_at(card)).total_seconds())


def entering(card_pk: int, stage_pk: int, at: datetime) -> raw_sql.Statement:
    return (
        "INSERT INTO stage_stay (opportunity_id, stage_id, entered_at) VALUES ($1, $2, $3)",
        (card_pk, stage_pk, at),
    )


def leaving(card: Opportunity, at: datetime, ended_by: StayEnd) -> raw_sql.Statement:
    """Ends the card's open stay (call before the card's own `stage_entered_at` changes)."""
    return (
        "UPDATE stage_stay SET left_at = $1, seconds = $2, ended_by = $3 "
        "WHERE opportunity_id = $4 AND left_at IS NULL",
        (at, seconds_in_stage(card, at), ended_by.value, card.pk),
    )


async def run(*statements: raw_sql.Statement) -> None:
    for sql, values in statements:
        await raw_sql.execute(sql, *values)


async def average_seconds(stage_ids: list[int]) -> list[float | None]:
    """The mean length of the ended stays in each stage; None before one has ended."""
    if not stage_ids:
        return []
    found = await raw_sql.records(
        "SELECT stage_id, AVG(seconds) AS average FROM stage_stay "
        f"WHERE stage_id IN ({raw_sql.marks(len(stage_ids))}) AND left_at IS NOT NULL "
        "GROUP BY stage_id",
        *stage_ids,
    )
    averages = {row["stage_id"]: float(row["average"]) for row in found}
    return [averages.get(pk) for pk in stage_ids]
