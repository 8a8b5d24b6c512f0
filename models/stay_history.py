"""Migration 0007's backfill: the stays of the opportunities that existed before stays
were recorded, rebuilt from their stage history.

Each stage change starts a stay, which the next change ends (the seconds between them
become that change's `seconds_in_from_stage`); a closed card's last stay ends at its
close. Reopens were not recorded then: a reopened card's stay runs on through it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime
from typing import Any

from tortoise import fields

from models import raw_sql

_AS_DATETIME = fields.DatetimeField().to_python_value


def _at(value: object) -> datetime:
    at = _AS_DATETIME(value)
    assert at is not None, "a stage change and a card always have their times"
    return at


_ENDS = {"WON": "WON", "LOST": "LOST"}


async def stays_from_stage_history(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    dialect = client.capabilities.dialect

    async def run(sql: str, *values: object) -> Any:
        _, found = await client.execute_query(raw_sql.in_dialect(dialect, sql), list(values))
        return found

    history: dict[int, list[tuple[int, int, datetime]]] = defaultdict(list)
    for change in await run(
        "SELECT id, opportunity_id, to_stage_id, at FROM stage_change ORDER BY at, id"
    ):
        if change["to_stage_id"] is not None:
            history[change["opportunity_id"]].append(
                (change["id"], change["to_stage_id"], _at(change["at"]))
            )
    for card in await run("SELECT id, stage_id, result, created_at, closed_at FROM opportunity"):
        changes = history.get(card["id"]) or [(0, card["stage_id"], _at(card["created_at"]))]
        for (_, stage_id, entered), (next_id, _, left) in itertools.pairwise(changes):
            seconds = (left - entered).total_seconds()
            await run(
                "INSERT INTO stage_stay (opportunity_id, stage_id, entered_at, left_at, seconds, "
                "ended_by) VALUES ($1, $2, $3, $4, $5, $6)",
                card["id"],
                stage_id,
                entered,
                left,
                seconds,
                "MOVED",
            )
            await run(
                "UPDATE stage_change SET seconds_in_from_stage = $1 WHERE id = $2", seconds, next_id
            )
        entered = changes[-1][2]
        closed_at = _AS_DATETIME(card["closed_at"])
        ended_by = _ENDS.get(card["result"]) if closed_at is not None else None
        last_left = closed_at if ended_by is not None else None
        await run(
            "INSERT INTO stage_stay (opportunity_id, stage_id, entered_at, left_at, seconds, "
            "ended_by) VALUES ($1, $2, $3, $4, $5, $6)",
            card["id"],
            card["stage_id"],
            entered,
            last_left,
            None if last_left is None else (last_left - entered).total_seconds(),
            ended_by,
        )
        await run("UPDATE opportunity SET stage_entered_at = $1 WHERE id = $2", entered, card["id"])
