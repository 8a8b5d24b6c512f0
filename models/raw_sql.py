"""Hand-written SQL for the statements every write runs, on either database.

Building a statement with the ORM costs more CPU than PostgreSQL takes to run it, and a
move runs seven of them while it holds its campaign's lock. These few are written out
instead: with PostgreSQL's numbered placeholders, each used once and in order, so that
SQLite's `?` can stand in for them. Values go in as the ORM would send them (Tortoise
registers SQLite's adapters for dates and decimals); rows come back as dicts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from tortoise import connections

_NUMBERED = re.compile(r"\$\d+")
_ROW_LOCK = " FOR NO KEY UPDATE"


async def rows(sql: str, *values: object) -> list[dict[str, Any]]:
    """The rows `sql` returns, in the current transaction if there is one."""
    connection = connections.get("default")
    found = await connection.execute_query_dict(
        _in(connection.capabilities.dialect, sql), list(values)
    )
    return list(found)


async def execute(sql: str, *values: object) -> None:
    connection = connections.get("default")
    await connection.execute_query(_in(connection.capabilities.dialect, sql), list(values))


Statement = tuple[str, Sequence[object]]


def marks(count: int, first: int = 1) -> str:
    """`count` numbered marks from `first` on, for an IN list: "$1, $2, $3"."""
    return ", ".join(f"${number}" for number in range(first, first + count))


async def write_then_return(writes: Sequence[Statement], last: Statement) -> list[dict[str, Any]]:
    """Runs the writes, then `last`, whose rows it returns. On PostgreSQL that is one
    statement, the writes as data-modifying WITH clauses: one round trip, however many
    writes a change makes while it holds its campaign's lock. The writes must not need to
    see each other's effects (they all see the same snapshot)."""
    connection = connections.get("default")
    if connection.capabilities.dialect != "postgres":
        for write, values in writes:
            await execute(write, *values)
        return await rows(last[0], *last[1])
    clauses: list[str] = []
    combined: list[object] = []
    for number, (write, values) in enumerate(writes):
        clauses.append(f"write{number} AS ({_shifted(write, len(combined))})")
        combined.extend(values)
    final = _shifted(last[0], len(combined))
    combined.extend(last[1])
    return await rows(f"WITH {', '.join(clauses)} {final}" if clauses else final, *combined)


def _shifted(sql: str, offset: int) -> str:
    return _NUMBERED.sub(lambda mark: f"${int(mark.group()[1:]) + offset}", sql)


@lru_cache(maxsize=256)
def _in(dialect: str, sql: str) -> str:
    if dialect == "postgres":
        return sql
    # SQLite has no row locks (its one writer at a time is the lock), and numbers no marks.
    return _NUMBERED.sub("?", sql.replace(_ROW_LOCK, ""))
