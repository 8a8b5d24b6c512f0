"""Unowned cards past their registration deadline: the manager is told, once."""

from __future__ import annotations

from datetime import datetime

from models import NotificationKind, Opportunity, OpportunityResult
from resolvers.notifications import notify
from resolvers.writes import campaign_write


async def notify_overdue_registrations(now: datetime) -> int:
    """Tell each overdue card's manager; returns how many cards were newly overdue."""
    due = await Opportunity.filter(
        owner_id__isnull=True,
        result=OpportunityResult.OPEN,
        overdue_notified=False,
        registration_deadline__lte=now,
        campaign__archived_at__isnull=True,
    ).order_by("id")
    told = 0
    for card in due:
        # Under the campaign lock, like every card write: re-checked there, so a card
        # claimed or closed meanwhile is skipped, and no save overwrites the flag.
        async with campaign_write(card.campaign_id, even_archived=True) as campaign:
            if campaign.archived_at is not None:
                continue  # nobody works an archived campaign: nobody is told
            won = await Opportunity.filter(
                id=card.pk,
                overdue_notified=False,
                owner_id__isnull=True,
                result=OpportunityResult.OPEN,
                registration_deadline__lte=now,
            ).update(overdue_notified=True)
            if won:
                await notify(
                    NotificationKind.REGISTRATION_OVERDUE,
                    [campaign.manager_id],
                    actor=None,
                    card=card,
                )
                told += 1
    return told
