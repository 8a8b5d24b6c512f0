"""Unowned cards past their registration deadline: the manager is told, once."""

from __future__ import annotations

from datetime import datetime

from models import Campaign, NotificationKind, Opportunity, OpportunityResult
from resolvers.notifications import notify
from resolvers.outbox import transaction


async def notify_overdue_registrations(now: datetime) -> int:
    """Tell each overdue card's manager; returns how many cards were newly overdue."""
    due = await Opportunity.filter(
        owner_id__isnull=True,
        result=OpportunityResult.OPEN,
        overdue_notified=False,
        registration_deadline__lte=now,
    ).order_by("id")
    told = 0
    for card in due:
        async with transaction():
            # Only the process whose update wins tells the manager, so never twice.
            won = await Opportunity.filter(
                id=card.pk, overdue_notified=False, owner_id__isnull=True
            ).update(overdue_notified=True)
            if won:
                campaign = await Campaign.get(id=card.campaign_id)
                await notify(
                    NotificationKind.REGISTRATION_OVERDUE,
                    [campaign.manager_id],
                    actor=None,
                    card=card,
                )
                told += 1
    return told
