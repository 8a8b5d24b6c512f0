"""Keyset pagination for Relay connections: stable under inserts, one query a page."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast, overload

from tortoise.expressions import Q
from tortoise.fields import DatetimeField
from tortoise.models import Model
from tortoise.queryset import QuerySet

from resolvers.errors import BadUserInput

M = TypeVar("M", bound=Model)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
BY_ID = ("id",)


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def limits(self) -> tuple[int | None, int | None]:
        """(first, last) after the contract's defaults and bounds."""
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
                raise BadUserInput(
                    f"'{name}' must be between 0 and {MAX_PAGE_SIZE}, got {value}",
                    argument=name,
                )
        if self.first is None and self.last is None:
            return DEFAULT_PAGE_SIZE, None
        return self.first, self.last


@dataclass
class Page(Generic[M]):
    items: list[M]
    cursors: Sequence[str]
    has_next: bool
    has_previous: bool
    count: Callable[[], Awaitable[int]]


class Cursors(Sequence[str]):
    """The page's cursors, each encoded when first asked for: a board of 2,000 cards
    rarely selects one."""

    def __init__(self, items: Sequence[Model], order: Sequence[str]) -> None:
        self._items = items
        self._order = order
        self._encoded: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[number] for number in range(len(self))[index]]
        number = range(len(self))[index]  # IndexError past the end, as a list
        cursor = self._encoded.get(number)
        if cursor is None:
            cursor = self._encoded[number] = cursor_of(self._items[number], self._order)
        return cursor


def encode_cursor(values: Sequence[object]) -> str:
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, argument: str, width: int) -> list[object]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        values = None
    if not isinstance(values, list) or len(values) != width:
        raise BadUserInput(f"'{argument}' is not a cursor of this list", argument=argument)
    return values


def cursor_of(item: Model, order: Sequence[str]) -> str:
    return encode_cursor([getattr(item, key.lstrip("-")) for key in order])


def beyond(
    model: type[Model], cursor: str, argument: str, order: Sequence[str], *, forward: bool
) -> Q:
    """Rows strictly after (forward) or before the cursor's position in `order`."""
    values = [
        _typed(model, key.lstrip("-"), value, argument)
        for key, value in zip(order, decode_cursor(cursor, argument, len(order)), strict=True)
    ]
    condition: Q | None = None
    for index, key in enumerate(order):
        name = key.lstrip("-")
        ascending = not key.startswith("-")
        operator = "gt" if ascending == forward else "lt"
        step = Q(**{f"{name}__{operator}": cast(Any, values[index])})
        for earlier, earlier_value in zip(order[:index], values[:index], strict=True):
            step &= Q(**{earlier.lstrip("-"): cast(Any, earlier_value)})
        condition = step if condition is None else condition | step
    assert condition is not None
    return condition


def _typed(model: type[Model], name: str, value: object, argument: str) -> object:
    field = model._meta.fields_map[name]
    try:
        if isinstance(field, DatetimeField) and isinstance(value, str):
            # In UTC, as cursors are written: a forged offset can leave UTC's years.
            return datetime.fromisoformat(value).astimezone(UTC)
        bounds = field.constraints
        in_range = not isinstance(value, int) or (
            bounds.get("ge", -(2**63)) <= value <= bounds.get("le", 2**63 - 1)
        )
        if isinstance(value, field.field_type) and not isinstance(value, bool) and in_range:
            return value
    except (TypeError, ValueError, OverflowError):
        pass
    raise BadUserInput(f"'{argument}' is not a cursor of this list", argument=argument)


async def paginate(query: QuerySet[M], args: PageArgs, order: Sequence[str] = BY_ID) -> Page[M]:
    """One page of `query` in `order` (unique, ending in id), with a lazy total count."""
    first, last = args.limits()
    window = query
    if args.after is not None:
        window = window.filter(beyond(query.model, args.after, "after", order, forward=True))
    if args.before is not None:
        window = window.filter(beyond(query.model, args.before, "before", order, forward=False))
    if last is not None and first is None:
        reverse = [key[1:] if key.startswith("-") else f"-{key}" for key in order]
        rows = list(await window.order_by(*reverse).limit(last + 1))
        has_previous = len(rows) > last
        items = list(reversed(rows[:last]))
        has_next = args.before is not None
    else:
        assert first is not None
        rows = list(await window.order_by(*order).limit(first + 1))
        has_next = len(rows) > first
        items = rows[:first]
        if last is not None:
            items = items[-last:] if last else []
        has_previous = args.after is not None
    return Page(
        items=items,
        cursors=Cursors(items, order),
        has_next=has_next,
        has_previous=has_previous,
        count=query.count,
    )
