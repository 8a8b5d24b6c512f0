"""Board columns: one page of cards for many stages in a single query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache

from models import Customer, Opportunity, raw_sql
from resolvers.errors import BadUserInput
from resolvers.pagination import Cursors, Page, PageArgs, decode_cursor

BOARD_ORDER = ("rank", "id")


_CUSTOMER = "customer__"
# A card's customer as a board shows it, without its creation time: decoding a moment
# per row cost as much as the rest of the customer's columns (1.2 ms of 2,000 cards).
_CUSTOMER_COLUMNS = frozenset({"id", "name", "phone", "email", "owner_id"})


async def column_pages(
    stage_ids: Sequence[int],
    args: PageArgs,
    count_of: dict[int, int],
    only: frozenset[str] | None = None,
) -> tuple[list[Page[Opportunity]], dict[int, Customer]]:
    """Each stage's cards in board order, `first` after `after`, with one query that
    brings the cards' customers along (a board shows each card's customer): partial
    customers, with the columns of _CUSTOMER_COLUMNS.

    With `only`, the cards are read with just those columns (and those the board itself
    needs): partial cards, without the other columns' attributes."""
    first, last = args.limits()
    if last is not None or args.before is not None or first is None:
        raise BadUserInput("a stage's opportunities page forwards only: use first and after")
    after: tuple[str, int] | None = None
    if args.after is not None:
        rank, pk = decode_cursor(args.after, "after", 2)
        if not isinstance(rank, str) or not isinstance(pk, int) or isinstance(pk, bool):
            raise BadUserInput("'after' is not a cursor of this list", argument="after")
        after = (rank, pk)
    if only is not None:
        only = only | _NEEDED
    selected = "o.*" if only is None else ", ".join(f'o."{name}"' for name in sorted(only))
    read = _by_index if raw_sql.on_postgres() else _by_window
    sql, values = read(stage_ids, after, first, selected)
    card_of = raw_sql.builder(Opportunity, only=only)
    customer_of = raw_sql.builder(Customer, _CUSTOMER, _CUSTOMER_COLUMNS)
    grouped: dict[int, list[Opportunity]] = defaultdict(list)
    customers: dict[int, Customer] = {}
    for row in await raw_sql.records(sql, *values):
        card = card_of(row)
        grouped[card.stage_id].append(card)
        if card.customer_id not in customers:
            customers[card.customer_id] = customer_of(row)
    pages = [_page(grouped[pk], first, args, count_of.get(pk, 0)) for pk in stage_ids]
    return pages, customers


_PAGE_ORDER = "ORDER BY page.stage_id, page.rank, page.id"
# What a page needs of each card whatever its selection: its column, its place and
# cursor, and the keys its owner and customer are found by.
_NEEDED = frozenset({"id", "stage_id", "rank", "owner_id", "customer_id"})


def _by_index(
    stage_ids: Sequence[int], after: tuple[str, int] | None, first: int, selected: str
) -> tuple[str, list[object]]:
    """PostgreSQL: each column's first cards read in board order off the (stage_id, rank)
    index, `first` + 1 of them, not every card of the campaign sorted and numbered.

    The pages are made first (MATERIALIZED), then joined to their customers: joined
    inside the per-column loop, the planner hashed the whole customer table once per
    column (10 ms of a board's 2,000 cards, against 5)."""
    values: list[object] = [list(stage_ids)]
    where = "o.stage_id = s.id"
    if after is not None:
        where += " AND (o.rank > $2 OR (o.rank = $3 AND o.id > $4))"
        values += [after[0], after[0], after[1]]
    sql = (
        "WITH page AS MATERIALIZED (SELECT card.* "
        "FROM unnest($1::int[]) AS s(id) CROSS JOIN LATERAL ("
        f"SELECT {selected} FROM opportunity o WHERE {where} "
        f"ORDER BY o.rank, o.id LIMIT {first + 1}) AS card) "
        f"SELECT page.*, {_customer_columns()} "
        f"FROM page JOIN customer c ON c.id = page.customer_id {_PAGE_ORDER}"
    )
    return sql, values


def _by_window(
    stage_ids: Sequence[int], after: tuple[str, int] | None, first: int, selected: str
) -> tuple[str, list[object]]:
    """SQLite (no LATERAL): every card of the columns numbered in board order."""
    values: list[object] = list(stage_ids)
    where = f"o.stage_id IN ({raw_sql.marks(len(stage_ids))})"
    if after is not None:
        rank_mark, rank_again, pk_mark = raw_sql.marks(3, len(values) + 1).split(", ")
        where += f" AND (o.rank > {rank_mark} OR (o.rank = {rank_again} AND o.id > {pk_mark}))"
        values += [after[0], after[0], after[1]]
    sql = (
        f"SELECT page.*, {_customer_columns()} "
        f"FROM (SELECT {selected}, ROW_NUMBER() OVER "
        "(PARTITION BY o.stage_id ORDER BY o.rank, o.id) AS board_row "
        f"FROM opportunity o WHERE {where}) AS page "
        "JOIN customer c ON c.id = page.customer_id "
        f"WHERE page.board_row <= {first + 1} {_PAGE_ORDER}"
    )
    return sql, values


@cache
def _customer_columns() -> str:
    """The select list of a card's customer (built on first use: the ORM knows its
    columns once it is started)."""
    return raw_sql.columns(Customer, "c", _CUSTOMER, _CUSTOMER_COLUMNS)


def _page(rows: list[Opportunity], first: int, args: PageArgs, total: int) -> Page[Opportunity]:
    items = rows[:first]

    async def count() -> int:
        return total

    return Page(
        items=items,
        cursors=Cursors(items, BOARD_ORDER),
        has_next=len(rows) > first,
        has_previous=args.after is not None,
        count=count,
    )
