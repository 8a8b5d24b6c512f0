"""The rotting check: each open card that rots is told once per stay.

Run every ROTTING_CHECK_SECONDS by each server process. Every card is marked, under
its campaign's lock and only if still unmarked for its current stay, before its
OpportunityRotting event and notification are written in the same transaction: so
however many processes check at once, one of them logs it. Campaigns are locked one
at a time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from tortoise.expressions import Q

from models import EventKind, NotificationKind, Opportunity, OpportunityResult, Stage, raw_sql
from resolvers.notifications import notify
from resolvers.rotting import rotting_since
from resolvers.writes import campaign_write, log_event


async def log_rotting_cards(now: datetime) -> int:
    """Logs the cards that started rotting by `now`; returns how many this call logged."""
    due: dict[int, list[Opportunity]] = defaultdict(list)
    for card in await _due(now):
        due[card.campaign_id].append(card)
    logged = 0
    for campaign_pk, cards in due.items():
        async with campaign_write(campaign_pk, even_archived=True) as campaign:
            if campaign.archived_at is not None:
                continue  # read-only: its cards rot no more
            days_of = dict(
                await Stage.filter(campaign_id=campaign_pk, rotting_days__isnull=False).values_list(
                    "id", "rotting_days"
                )
            )
            for card in cards:
                since = rotting_since(card, days_of.get(card.stage_id), now)
                if since is None or not await _mark(card):
                    continue  # moved, closed or logged meanwhile, or its step rots no more
                await log_event(
                    campaign,
                    EventKind.OPPORTUNITY_ROTTING,
                    None,
                    columns=[card.stage_id],
                    opportunity_id=card.pk,
                    rotting_since=since.isoformat(),
                )
                await notify(
                    NotificationKind.OPPORTUNITY_ROTTING,
                    [card.owner_id or campaign.manager_id],
                    actor=None,
                    card=card,
                )
                logged += 1
    return logged


async def _due(now: datetime) -> list[Opportunity]:
    """Open cards past their step's rotting days and not logged for this stay: one query,
    a condition per distinct number of days."""
    found = await raw_sql.records(
        "SELECT DISTINCT rotting_days FROM stage "
        "WHERE rotting_days IS NOT NULL AND removed_at IS NULL"
    )
    if not found:
        return []
    conditions: list[str] = []
    values: list[object] = [OpportunityResult.OPEN.value]
    for number in sorted(int(row["rotting_days"]) for row in found):
        days_mark, cutoff_mark = raw_sql.marks(2, len(values) + 1).split(", ")
        conditions.append(f"(s.rotting_days = {days_mark} AND o.stage_entered_at <= {cutoff_mark})")
        values += [number, now - timedelta(days=number)]
    return await raw_sql.instances(
        Opportunity,
        "SELECT o.* FROM opportunity o JOIN stage s ON s.id = o.stage_id "
        "JOIN campaign c ON c.id = o.campaign_id "
        "WHERE o.result = $1 AND s.removed_at IS NULL AND c.archived_at IS NULL "
        "AND (o.rotting_logged_for IS NULL OR o.rotting_logged_for <> o.stage_entered_at) "
        f"AND ({' OR '.join(conditions)}) ORDER BY o.campaign_id, o.id",
        *values,
    )


async def _mark(card: Opportunity) -> bool:
    """Marks the card logged for its current stay, unless that is done or the stay is over."""
    marked = await Opportunity.filter(
        Q(rotting_logged_for__isnull=True) | Q(rotting_logged_for__not=card.stage_entered_at),
        id=card.pk,
        result=OpportunityResult.OPEN,
        stage_id=card.stage_id,
        stage_entered_at=card.stage_entered_at,
    ).update(rotting_logged_for=card.stage_entered_at)
    return marked == 1
