"""OpportunityFilter: conditions on cards, every given one must hold.

A filter only narrows a list the viewer may already see; it never reaches past the
campaigns the list is drawn from. `search` is a case-insensitive substring of the
card's or its customer's name: on PostgreSQL each side is a trigram index scan
(migration 0010), so it stays fast on 100,000 cards; SQLite scans.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q, Subquery
from tortoise.filters import escape_like
from tortoise.queryset import QuerySet

from models import Customer, Opportunity, OpportunityResult, Stage, raw_sql


@dataclass(frozen=True, slots=True)
class CardFilter:
    """Decoded conditions; None: not given."""

    campaign_pks: list[int] | None = None
    stage_pks: list[int] | None = None
    owner_pks: list[int] | None = None
    unowned: bool | None = None
    results: list[OpportunityResult] | None = None
    rotting: bool | None = None
    search: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    expected_close_before: datetime | None = None


async def narrowed(
    query: QuerySet[Opportunity], given: CardFilter, now: datetime
) -> QuerySet[Opportunity]:
    """`query` with every condition of `given` added."""
    if given.campaign_pks is not None:
        query = query.filter(campaign_id__in=given.campaign_pks)
    if given.stage_pks is not None:
        query = query.filter(stage_id__in=given.stage_pks)
    if given.owner_pks is not None:
        query = query.filter(owner_id__in=given.owner_pks)
    if given.unowned is not None:
        query = query.filter(owner_id__isnull=given.unowned)
    if given.results is not None:
        query = query.filter(result__in=[result.value for result in given.results])
    if given.created_after is not None:
        query = query.filter(created_at__gt=given.created_after)
    if given.created_before is not None:
        query = query.filter(created_at__lt=given.created_before)
    if given.expected_close_before is not None:
        query = query.filter(expected_close_at__lt=given.expected_close_before)
    if given.search:
        query = query.filter(await _matching(given.search))
    if given.rotting is not None:
        rotting = await _rotting(given, now)
        query = query.filter(rotting if given.rotting else ~rotting)
    return query


# A search matching at most this many cards pages them by id; past it, the term is
# common and the newest cards are read one by one until a page is full.
FEW_MATCHES = 1000
TRIGRAM = 3

# Both sides as the trigram indexes have them (migration 0010): Tortoise's own
# `icontains`, "UPPER(CAST(name AS VARCHAR)) LIKE UPPER(pattern)".
_MATCHING_IDS = f"""
SELECT id FROM opportunity WHERE UPPER(CAST(name AS VARCHAR)) LIKE UPPER($1) ESCAPE '\\'
UNION
SELECT o.id FROM opportunity o JOIN customer c ON c.id = o.customer_id
 WHERE UPPER(CAST(c.name AS VARCHAR)) LIKE UPPER($1) ESCAPE '\\'
LIMIT {FEW_MATCHES + 1}
"""


async def _matching(term: str) -> Q:
    """The card's name or its customer's contains `term`, whatever the case.

    No single plan is fast for both kinds of term on 100,000 cards: a rare word is
    found in a few trigram index probes, then its cards sorted (5 ms; reading the
    newest cards until 50 match took 35), a common one by reading the newest cards
    until a page is full (10 ms; sorting its 8,000 matches took 60). So PostgreSQL
    first asks the indexes for up to FEW_MATCHES + 1 matches: the answer says which
    kind of term this is. A term shorter than a trigram gets no help from them (and
    SQLite none at all): those read the newest cards straight away."""
    customers = Customer.filter(name__icontains=term).values("id")
    common = Q(name__icontains=term) | Q(customer_id__in=Subquery(customers))
    if len(term) < TRIGRAM or not raw_sql.on_postgres():
        return common
    found = await raw_sql.records(_MATCHING_IDS, f"%{escape_like(term)}%")
    if len(found) > FEW_MATCHES:
        return common
    return Q(id__in=[row["id"] for row in found])


async def _rotting(given: CardFilter, now: datetime) -> Q:
    """resolvers/rotting.py's rule as a condition: open, in a step with rotting days,
    and in it since at least that many days. Steps are grouped by their number of days,
    so the condition has one branch per distinct number, not per step."""
    steps = Stage.filter(rotting_days__isnull=False)
    if given.campaign_pks is not None:
        steps = steps.filter(campaign_id__in=given.campaign_pks)
    if given.stage_pks is not None:
        steps = steps.filter(id__in=given.stage_pks)
    by_days: dict[int, list[int]] = defaultdict(list)
    for stage_pk, days in await steps.values_list("id", "rotting_days"):
        by_days[days].append(stage_pk)
    rotting = Q(id__in=[])
    for days, stage_pks in by_days.items():
        since = now - timedelta(days=days)
        # No NULL reaches the comparison: NOT of this must hold for every card that is
        # not rotting (rotting: false).
        entered = Q(stage_entered_at__isnull=False, stage_entered_at__lte=since) | Q(
            stage_entered_at__isnull=True, created_at__lte=since
        )
        rotting |= Q(stage_id__in=stage_pks) & entered
    return Q(result=OpportunityResult.OPEN.value) & rotting
