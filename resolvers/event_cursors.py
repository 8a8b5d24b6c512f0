"""Cursors into a campaign's event log and a user's notifications."""

from __future__ import annotations

from realtime.log import last_seq
from resolvers.errors import BadUserInput
from resolvers.pagination import decode_cursor, encode_cursor


def event_cursor(campaign_pk: int, seq: int) -> str:
    return encode_cursor(["event", campaign_pk, seq])


def decode_event_cursor(cursor: str, campaign_pk: int, argument: str = "after") -> int:
    kind, owner, seq = decode_cursor(cursor, argument, 3)
    if kind != "event" or owner != campaign_pk or not _is_seq(seq):
        raise BadUserInput(f"'{argument}' is not a cursor of this campaign", argument=argument)
    assert isinstance(seq, int)
    return seq


def notification_cursor(seq: int) -> str:
    return encode_cursor(["notification", seq])


def decode_notification_cursor(cursor: str) -> int:
    kind, seq = decode_cursor(cursor, "after", 2)
    if kind != "notification" or not _is_seq(seq):
        raise BadUserInput("'after' is not a notification cursor", argument="after")
    assert isinstance(seq, int)
    return seq


def _is_seq(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62


async def last_event_cursor(campaign_pk: int) -> str:
    """The cursor of the campaign's newest event (seq 0 before any)."""
    return event_cursor(campaign_pk, await last_seq(campaign_pk))
