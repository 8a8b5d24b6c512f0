"""Hand-written SQL for the statements every write runs, on either database.

Building a statement with the ORM costs more CPU than PostgreSQL takes to run it, and a
move runs seven of them while it holds its campaign's lock. These few are written out
instead: with PostgreSQL's numbered placeholders, each used once and in order, so that
SQLite's `?` can stand in for them. Values go in as the ORM would send them (Tortoise
registers SQLite's adapters for dates and decimals); rows come back as dicts.
"""

from __future__ import annotations

import re
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


@lru_cache(maxsize=256)
def _in(dialect: str, sql: str) -> str:
    if dialect == "postgres":
        return sql
    # SQLite has no row locks (its one writer at a time is the lock), and numbers no marks.
    return _NUMBERED.sub("?", sql.replace(_ROW_LOCK, ""))
