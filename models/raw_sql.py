"""Hand-written SQL for the statements every write runs, on either database.

Building a statement with the ORM costs more CPU than PostgreSQL takes to run it, and a
move runs seven of them while it holds its campaign's lock. These few are written out
instead: with PostgreSQL's numbered placeholders, each used once and in order, so that
SQLite's `?` can stand in for them. Values go in as the ORM would send them (Tortoise
registers SQLite's adapters for dates and decimals); rows come back as dicts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar, cast

from tortoise import connections
from tortoise.fields import DatetimeField
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model
from tortoise.timezone import get_default_timezone, get_use_tz

M = TypeVar("M", bound=Model)

_NUMBERED = re.compile(r"\$\d+")
_ROW_LOCK = re.compile(r" FOR NO KEY UPDATE( OF \w+(, \w+)*)?")


async def rows(sql: str, *values: object) -> list[dict[str, Any]]:
    """The rows `sql` returns, in the current transaction if there is one."""
    connection = connections.get("default")
    found = await connection.execute_query_dict(
        _in(connection.capabilities.dialect, sql), list(values)
    )
    return list(found)


async def records(sql: str, *values: object) -> Sequence[Mapping[str, Any]]:
    """The rows `sql` returns as the driver gives them (read by column name), without the
    copy into a dict that `rows` makes."""
    connection = connections.get("default")
    _, found = await connection.execute_query(
        _in(connection.capabilities.dialect, sql), list(values)
    )
    return cast("Sequence[Mapping[str, Any]]", found)


async def instances(model: type[M], sql: str, *values: object) -> list[M]:
    """The rows `sql` returns as `model` instances: `sql` selects every column of the
    model's table (more columns are ignored)."""
    build = builder(model)
    return [build(row) for row in await records(sql, *values)]


def columns(model: type[Model], alias: str, prefix: str, only: frozenset[str] | None = None) -> str:
    """Every column of `model`'s table under `alias` (or those `only` names), each renamed
    `prefix` + its name: a joined row carries another model's columns that
    `builder(model, prefix, only)` reads."""
    return ", ".join(
        f"{alias}.{column} AS {prefix}{column}"
        for column in model._meta.fields_db_projection.values()
        if only is None or column in only
    )


Builder = Callable[[Mapping[str, Any]], M]
_BUILDERS: dict[tuple[type[Model], str, frozenset[str] | None], Builder[Model]] = {}


def builder(model: type[M], prefix: str = "", only: frozenset[str] | None = None) -> Builder[M]:
    """Makes a `model` instance of a row, from its columns named `prefix` + column name.

    With `only` (column names), the row holds just those columns: the instance is
    partial, with the attributes of those columns only (as Tortoise's `.only()`)."""
    key = (model, prefix, only)
    build = _BUILDERS.get(key)
    if build is None:
        build = _BUILDERS[key] = _compiled(model, prefix, only)
    return cast("Builder[M]", build)


def _compiled(model: type[M], prefix: str, only: frozenset[str] | None) -> Builder[M]:
    """What `Model._init_from_db` does, the same conversions, but reading the driver's row
    as it comes and setting the instance's state in one update: the board builds 4,000
    instances, and `_init_from_db` spent most of its time in `Model.__setattr__` and in
    the copies a row makes into keyword arguments. The builder is one generated function
    whose state is one dict display: a loop over the columns cost as much again.

    An enum's member is looked up in its map of values first. Moments are the exception
    to "the same conversions": asyncpg's UTC datetimes are kept as they come, where
    Tortoise would move each onto its own UTC zone object (about 1 us each, 12,000 of
    them on a board) for the same instant and ISO text."""
    meta = model._meta
    names: dict[str, Any] = {
        "model": model,
        "new": model.__new__,
        "custom_pk": meta.db_pk_column not in meta.generated_db_fields,
        "datetime": datetime,
        "UTC": UTC,
    }
    entries = [
        f'"_partial": {only is not None}',
        '"_saved_in_db": True',
        '"_custom_generated_pk": custom_pk',
        '"_await_when_save": {}',
    ]
    for key, attribute, _ in _read(meta.db_native_fields, only):
        entries.append(f"{attribute!r}: row[{prefix + key!r}]")
    for index, (key, attribute, field) in enumerate(_read(meta.db_default_fields, only)):
        names[f"kind{index}"] = field.field_type
        entries.append(
            f"{attribute!r}: None if (v := row[{prefix + key!r}]) is None else kind{index}(v)"
        )
    in_utc = get_use_tz() and str(get_default_timezone()) == "UTC"
    for index, (key, attribute, field) in enumerate(_read(meta.db_complex_fields, only)):
        names[f"convert{index}"] = field.to_python_value
        value = f"convert{index}(v)"
        if in_utc and isinstance(field, DatetimeField):
            value = f"v if v.__class__ is datetime and v.tzinfo is UTC else {value}"
        elif isinstance(field, CharEnumFieldInstance):
            names[f"members{index}"] = field.enum_type._value2member_map_
            value = f"members{index}.get(v) or {value}"
        entries.append(f"{attribute!r}: None if (v := row[{prefix + key!r}]) is None else {value}")
    body = ",\n        ".join(entries)
    source = (
        "def build(row):\n"
        "    instance = new(model)\n"
        f"    instance.__dict__.update({{\n        {body},\n    }})\n"
        "    return instance\n"
    )
    exec(compile(source, f"<builder {model.__name__} {prefix}>", "exec"), names)
    return cast("Builder[M]", names["build"])


_Column = tuple[str, str, Any]  # (column, attribute, field)


def _read(columns: list[_Column], only: frozenset[str] | None) -> list[_Column]:
    """The columns a row holds."""
    return columns if only is None else [column for column in columns if column[0] in only]


async def execute(sql: str, *values: object) -> None:
    connection = connections.get("default")
    await connection.execute_query(_in(connection.capabilities.dialect, sql), list(values))


Statement = tuple[str, Sequence[object]]


def on_postgres() -> bool:
    """Whether the default connection is PostgreSQL (else the embedded SQLite)."""
    return bool(connections.get("default").capabilities.dialect == "postgres")


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
        clauses.append(f"write{number} AS ({shifted(write, len(combined))})")
        combined.extend(values)
    final = shifted(last[0], len(combined))
    combined.extend(last[1])
    return await rows(f"WITH {', '.join(clauses)} {final}" if clauses else final, *combined)


@lru_cache(maxsize=1024)
def shifted(sql: str, offset: int) -> str:
    """`sql` with its numbered marks moved on by `offset`: $1 becomes $(1 + offset), for
    a part of a statement whose values follow others' (a move's statements are the same
    few texts at the same few offsets: each is shifted once)."""
    return _NUMBERED.sub(lambda mark: f"${int(mark.group()[1:]) + offset}", sql)


def in_dialect(dialect: str, sql: str) -> str:
    """`sql` as `dialect` reads it (for a connection other than the default one)."""
    return _in(dialect, sql)


@lru_cache(maxsize=256)
def _in(dialect: str, sql: str) -> str:
    if dialect == "postgres":
        return sql
    # SQLite has no row locks (its one writer at a time is the lock), and numbers no marks.
    return _NUMBERED.sub("?", _ROW_LOCK.sub("", sql))
