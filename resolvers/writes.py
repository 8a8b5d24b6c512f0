"""One write to a campaign's board: a transaction holding the campaign row lock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from models import Campaign, CampaignEvent, EventKind, Opportunity, User, raw_sql
from realtime.after_commit import signal_after_commit, transaction
from realtime.channels import campaign_channel
from realtime.log import append_event
from resolvers.errors import Conflict, NotFound


@asynccontextmanager
async def campaign_write(campaign_pk: int) -> AsyncIterator[Campaign]:
    """A transaction in which no other writer changes this campaign's cards.

    Locking the campaign row serialises its writers, so a version check, a
    duplicate check or a rank computed inside stays true until commit, and the
    events logged with `log_event` are numbered in commit order.
    """
    async with transaction():
        # FOR NO KEY UPDATE: inserts that reference the campaign need not wait on it.
        found = await raw_sql.rows(
            "SELECT * FROM campaign WHERE id = $1 FOR NO KEY UPDATE", campaign_pk
        )
        if not found:
            raise NotFound("the campaign was deleted meanwhile")
        yield Campaign._init_from_db(**found[0])


async def log_event(
    campaign: Campaign,
    kind: EventKind,
    actor: User | None,
    *,
    together_with: Sequence[raw_sql.Statement] = (),
    **data: Any,
) -> CampaignEvent:
    """Append an event to the locked campaign's log, with the statements of the change
    itself when it has them written out; streams hear of it after commit."""
    event = await append_event(campaign, kind, actor, writes=together_with, **data)
    signal_after_commit(campaign_channel(campaign.pk), event.seq)
    return event


async def locked_card(
    campaign: Campaign, card_pk: int, expected_version: int | None
) -> Opportunity:
    """The card as committed, refused with CONFLICT when `expected_version` is stale."""
    found = await raw_sql.rows(
        "SELECT * FROM opportunity WHERE id = $1 AND campaign_id = $2", card_pk, campaign.pk
    )
    if not found:
        raise NotFound("the opportunity was deleted meanwhile")
    card = Opportunity._init_from_db(**found[0])
    if expected_version is not None and expected_version != card.version:
        raise Conflict(
            f"the opportunity changed meanwhile (version {card.version}, "
            f"you sent {expected_version}): reload it and retry",
            currentVersion=card.version,
        )
    return card
