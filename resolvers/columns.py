"""Board columns: one page of cards for many stages in a single query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from models import Opportunity, raw_sql
from resolvers.errors import BadUserInput
from resolvers.pagination import Cursors, Page, PageArgs, decode_cursor

BOARD_ORDER = ("rank", "id")


async def column_pages(
    stage_ids: Sequence[int], args: PageArgs, count_of: dict[int, int]
) -> list[Page[Opportunity]]:
    """Each stage's cards in board order, `first` after `after`, with one windowed query."""
    first, last = args.limits()
    if last is not None or args.before is not None or first is None:
        raise BadUserInput("a stage's opportunities page forwards only: use first and after")
    values: list[object] = list(stage_ids)
    where = f"o.stage_id IN ({raw_sql.marks(len(stage_ids))})"
    if args.after is not None:
        rank, pk = decode_cursor(args.after, "after", 2)
        if not isinstance(rank, str) or not isinstance(pk, int) or isinstance(pk, bool):
            raise BadUserInput("'after' is not a cursor of this list", argument="after")
        rank_mark, rank_again, pk_mark = raw_sql.marks(3, len(values) + 1).split(", ")
        where += f" AND (o.rank > {rank_mark} OR (o.rank = {rank_again} AND o.id > {pk_mark}))"
        values += [rank, rank, pk]
    sql = (
        "SELECT * FROM (SELECT o.*, ROW_NUMBER() OVER "
        "(PARTITION BY o.stage_id ORDER BY o.rank, o.id) AS board_row "
        f"FROM opportunity o WHERE {where}) AS page "
        f"WHERE page.board_row <= {first + 1} ORDER BY page.stage_id, page.rank, page.id"
    )
    grouped: dict[int, list[Opportunity]] = defaultdict(list)
    for row in await raw_sql.rows(sql, *values):
        row.pop("board_row")
        card = Opportunity._init_from_db(**row)
        grouped[card.stage_id].append(card)
    return [_page(grouped[pk], first, args, count_of.get(pk, 0)) for pk in stage_ids]


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
