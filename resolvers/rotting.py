"""Rotting: an open card that has stayed in its step longer than the step's
`rotting_days` (0: at once) is rotting from `stage_entered_at + rotting_days` on."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise import timezone

from models import Opportunity, OpportunityResult
from resolvers.stays import entered_at


def rotting_since(
    card: Opportunity, rotting_days: int | None, now: datetime | None = None
) -> datetime | None:
    """When the card started rotting; None while it is not rotting."""
    if rotting_days is None or card.result != OpportunityResult.OPEN:
        return None
    since = entered_at(card) + timedelta(days=rotting_days)
    return since if since <= (now or timezone.now()) else None
