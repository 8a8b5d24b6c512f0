"""Keyset pagination for Relay connections, ordered by primary key."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from resolvers.errors import BadUserInput

M = TypeVar("M", bound=Model)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


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
    cursors: list[str]
    has_next: bool
    has_previous: bool
    count: Callable[[], Awaitable[int]]


def encode_cursor(*key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, argument: str) -> list[object]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        key = None
    if not isinstance(key, list) or not key:
        raise BadUserInput(f"'{argument}' is not a cursor this API gave out", argument=argument)
    return key


def _pk_of(cursor: str, argument: str) -> int:
    key = decode_cursor(cursor, argument)
    # Bounded like the id column: a forged huge number would fail in the database.
    pk = key[0]
    if not isinstance(pk, int) or isinstance(pk, bool) or not 0 <= pk < 2**31:
        raise BadUserInput(f"'{argument}' is not a cursor of this list", argument=argument)
    return pk


async def paginate(query: QuerySet[M], args: PageArgs) -> Page[M]:
    """One page of `query` in primary-key order, with a lazy total count."""
    first, last = args.limits()
    window = query
    if args.after is not None:
        window = window.filter(id__gt=_pk_of(args.after, "after"))
    if args.before is not None:
        window = window.filter(id__lt=_pk_of(args.before, "before"))
    if last is not None and first is None:
        rows = list(await window.order_by("-id").limit(last + 1))
        has_previous = len(rows) > last
        items = list(reversed(rows[:last]))
        has_next = args.before is not None
    else:
        assert first is not None
        rows = list(await window.order_by("id").limit(first + 1))
        has_next = len(rows) > first
        items = rows[:first]
        if last is not None:
            items = items[-last:] if last else []
        has_previous = args.after is not None
    return Page(
        items=items,
        cursors=[encode_cursor(item.pk) for item in items],
        has_next=has_next,
        has_previous=has_previous,
        count=query.count,
    )
