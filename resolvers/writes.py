"""One write to a campaign's board: a transaction holding the campaign row lock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from models import Campaign, CampaignEvent, EventKind, Opportunity, User, raw_sql
from realtime.after_commit import notice_after_commit, signal_after_commit, transaction
from realtime.channels import CHAT_NOTICES, campaign_channel, presence_channel
from realtime.log import append_event
from realtime.presence import access_notice
from resolvers import retry_keys, stage_totals
from resolvers.card_rows import campaign_of, card_and_campaign_columns, card_of
from resolvers.chat_counts import changed_notice
from resolvers.errors import BadUserInput, Conflict, NotFound, not_found


@asynccontextmanager
async def campaign_write(
    campaign_pk: int, *, even_archived: bool = False
) -> AsyncIterator[Campaign]:
    """A transaction in which no other writer changes this campaign's cards.

    Locking the campaign row serialises its writers, so a version check, a
    duplicate check or a rank computed inside stays true until commit, and the
    events logged with `log_event` are numbered in commit order. An archived campaign
    is read-only: BAD_USER_INPUT, unless `even_archived` (unarchiving, deleting, and
    the background jobs that skip it themselves).
    """
    async with transaction():
        # FOR NO KEY UPDATE: inserts that reference the campaign need not wait on it.
        found = await raw_sql.rows(
            "SELECT * FROM campaign WHERE id = $1 FOR NO KEY UPDATE", campaign_pk
        )
        if not found:
            raise NotFound("the campaign was deleted meanwhile")
        campaign = raw_sql.builder(Campaign)(found[0])
        if not even_archived:
            refuse_if_archived(campaign)
        retry_keys.queue_key()
        yield campaign


def refuse_if_archived(campaign: Campaign) -> None:
    if campaign.archived_at is not None:
        raise BadUserInput(
            f"campaign {campaign.code!r} is archived: it and its opportunities are read-only "
            "until it is unarchived (archiveCampaign with archived: false)",
            archivedAt=campaign.archived_at.isoformat(),
        )


async def log_event(
    campaign: Campaign,
    kind: EventKind,
    actor: User | None,
    *,
    together_with: Sequence[raw_sql.Statement] = (),
    columns: Sequence[int] = (),
    replaced: stage_totals.Replaced | None = None,
    **data: Any,
) -> CampaignEvent:
    """Append an event to the locked campaign's log, with the statements of the change
    itself when it has them written out; streams hear of it after commit.

    A card event names the `columns` (stage pks) it touched: their totals after the
    change are stored with it (resolvers/stage_totals.py). On PostgreSQL the statement
    that logs the event computes them, from the rows before its own writes: those may
    change one card only, `replaced`, given as they leave it.
    """
    columns = list(dict.fromkeys(columns))
    client_mutation_id = retry_keys.client_mutation_id()
    if client_mutation_id is not None:
        data["client_mutation_id"] = client_mutation_id
    merged = None
    if columns and raw_sql.on_postgres():
        merged = stage_totals.in_event(columns, replaced)
    elif columns:
        # SQLite: the writes first, then their totals go in with the event.
        for sql, values in together_with:
            await raw_sql.execute(sql, *values)
        together_with = ()
        data["stage_totals"] = [t.as_data() for t in await stage_totals.column_totals(columns)]
    event = await append_event(campaign, kind, actor, writes=together_with, merged=merged, **data)
    signal_after_commit(campaign_channel(campaign.pk), event.seq, event)
    _notice_state_followers(campaign.pk, kind, event.seq)
    return event


UNREAD_MOVERS = frozenset(
    {
        EventKind.CHAT_MESSAGE_POSTED,
        EventKind.CHAT_MESSAGE_EDITED,
        EventKind.CHAT_MESSAGE_DELETED,
        EventKind.CAMPAIGN_UPDATED,  # members come and go
    }
)


def _notice_state_followers(campaign_pk: int, kind: EventKind, seq: int) -> None:
    """Unread counts and presence follow no log: tell their streams to look again."""
    if kind in UNREAD_MOVERS:
        notice_after_commit(CHAT_NOTICES, changed_notice(campaign_pk, seq))
    if kind == EventKind.CAMPAIGN_UPDATED:
        notice_after_commit(presence_channel(campaign_pk), access_notice(seq))


@asynccontextmanager
async def card_write(
    card: Opportunity | Named, expected_version: int | None
) -> AsyncIterator[tuple[Campaign, Opportunity]]:
    """`campaign_write` for a change to one card: the campaign's lock and the card as
    committed in one statement, refused with CONFLICT when `expected_version` is stale.

    The card's row is locked too: when the statement had to wait for the campaign's lock,
    PostgreSQL reads the rows it locks again as the writer before it left them (the rest
    of the statement still sees the snapshot taken before the wait)."""
    async with card_write_reading(card, expected_version, None) as (campaign, card, _):
        yield campaign, card


@dataclass(frozen=True, slots=True)
class Reading:
    """What else the statement that locks a card reads: `joins` after its locked row
    (`locked`: the card's columns and its campaign's), with the `values` of their marks
    numbered from 3 in the order they appear, and `columns` (no marks) for the select
    list. A LATERAL call that takes a column of `locked` runs once the lock is held."""

    columns: str
    joins: str
    values: tuple[object, ...]


# Judges a locked card for the viewer (whether they take part in its campaign comes
# with it): raises what the field's guard would, NOT_FOUND or FORBIDDEN.
Judge = Callable[[Campaign, Opportunity, bool], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Named:
    """A card known by its key only (`global_id`, decoded: `pk`), that the write judges
    once it is locked: read once, where a guard before the write reads it first on its
    own (a round trip and an ORM read more per move)."""

    pk: int
    global_id: str
    viewer_pk: int
    judge: Judge


@asynccontextmanager
async def card_write_reading(
    card: Opportunity | Named, expected_version: int | None, reading: Reading | None
) -> AsyncIterator[tuple[Campaign, Opportunity, Mapping[str, Any]]]:
    """`card_write`, whose statement also reads `reading`: the row comes with the card."""
    async with transaction():
        if isinstance(card, Named):
            sql, keys = _named_card_write_sql(), (card.viewer_pk, card.pk)
        else:
            sql, keys = _card_write_sql(), (card.pk, card.campaign_id)
        if reading is not None:
            sql = f"SELECT locked.*, {reading.columns} FROM ({sql}) AS locked {reading.joins}"
        found = await raw_sql.records(sql, *keys, *(reading.values if reading else ()))
        if not found:
            if isinstance(card, Named):  # as for a hidden one: exactly as if it never was
                raise not_found("Opportunity", card.global_id)
            raise NotFound("the opportunity was deleted meanwhile")
        row = found[0]
        campaign, locked = campaign_of(row), card_of(row)
        if isinstance(card, Named):
            await card.judge(campaign, locked, bool(row["viewer_takes_part"]))
        refuse_if_archived(campaign)
        card = locked
        retry_keys.queue_key()
        retry_keys.remember(Opportunity=card.pk)  # a change to one card answers with it
        if expected_version is not None and expected_version != card.version:
            raise Conflict(
                f"the opportunity changed meanwhile (version {card.version}, "
                f"you sent {expected_version}): reload it and retry",
                currentVersion=card.version,
            )
        yield campaign, card, row


@cache
def _card_write_sql() -> str:
    return (
        f"SELECT {card_and_campaign_columns()} FROM campaign c "
        "JOIN opportunity o ON o.campaign_id = c.id "
        "WHERE o.id = $1 AND c.id = $2 FOR NO KEY UPDATE OF c, o"
    )


@cache
def _named_card_write_sql() -> str:
    # The viewer first: SQLite numbers marks in the order they appear (models/raw_sql.py).
    return (
        f"SELECT {card_and_campaign_columns()}, EXISTS (SELECT 1 FROM campaign_member m "
        "WHERE m.campaign_id = c.id AND m.user_id = $1) AS viewer_takes_part "
        "FROM campaign c JOIN opportunity o ON o.campaign_id = c.id "
        "WHERE o.id = $2 FOR NO KEY UPDATE OF c, o"
    )
