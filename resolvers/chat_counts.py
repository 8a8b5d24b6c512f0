"""Chat read markers and unread counts.

A marker is the seq of the newest message a user marked read in a campaign; a count is
the messages by others after it, deleted ones excluded. Counts are computed, never
stored: every change that can move one (a message posted, edited or deleted, a
campaign's members changed, a marker moved) sends a notice on CHAT_NOTICES after its
commit, for the live streams of counts (resolvers/chat_unread.py) to re-count.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from models import Campaign, User, raw_sql
from realtime.after_commit import notice_after_commit, transaction
from realtime.channels import CHAT_NOTICES


@dataclass(frozen=True, slots=True)
class Unread:
    campaign_pk: int
    count: int
    read_seq: int | None  # None before the user marked anything read
    # The campaign's row as of the count, for the answer (not part of what changed).
    campaign: Campaign | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Changed:
    """Everyone's counts in the campaign may have moved, as of its event `seq` (a message
    posted, edited or deleted; members changed)."""

    campaign_pk: int
    seq: int


@dataclass(frozen=True, slots=True)
class Marked:
    """One user's marker in the campaign moved."""

    user_pk: int
    campaign_pk: int


def changed_notice(campaign_pk: int, seq: int) -> str:
    return f"c{campaign_pk}:{seq}"


def marked_notice(user_pk: int, campaign_pk: int) -> str:
    return f"r{user_pk}:{campaign_pk}"


def parse_notice(notice: str) -> Changed | Marked | None:
    """What a CHAT_NOTICES notice says; None for one this version does not know."""
    kind, rest = notice[:1], notice[1:]
    first, _, second = rest.partition(":")
    if not (first.isdigit() and second.isdigit()):
        return None
    if kind == "c":
        return Changed(int(first), int(second))
    if kind == "r":
        return Marked(int(first), int(second))
    return None


async def move_marker(user: User, campaign_pk: int, seq: int) -> None:
    """Moves the user's marker up to `seq`, never back; every device hears of it."""
    async with transaction():
        await raw_sql.execute(
            "INSERT INTO chat_read (user_id, campaign_id, seq) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id, campaign_id) DO UPDATE SET seq = CASE "
            "WHEN excluded.seq > chat_read.seq THEN excluded.seq ELSE chat_read.seq END",
            user.pk,
            campaign_pk,
            seq,
        )
        notice_after_commit(CHAT_NOTICES, marked_notice(user.pk, campaign_pk))


# Users who read up to the same message share one count of the messages after it, less
# their own: one range scan per distinct marker and one pass over the messages for all
# the users' own, however many users (a campaign's whole team re-counts on each message).
_UNREAD = """
WITH marks AS (
  SELECT u.id AS user_id, c.id AS campaign_id, r.seq AS read_seq,
         COALESCE(r.seq, 0) AS since
  FROM "user" u CROSS JOIN campaign c
  LEFT JOIN chat_read r ON r.user_id = u.id AND r.campaign_id = c.id
  WHERE u.id IN ({users}) AND c.id IN ({campaigns})
), everyone AS (
  SELECT d.campaign_id, d.since,
         (SELECT count(*) FROM chat_message m WHERE m.campaign_id = d.campaign_id
          AND m.deleted_at IS NULL AND m.seq > d.since) AS posted
  FROM (SELECT DISTINCT campaign_id, since FROM marks) d
), own AS (
  SELECT k.user_id, k.campaign_id, count(*) AS posted
  FROM marks k JOIN chat_message m ON m.campaign_id = k.campaign_id
   AND m.author_id = k.user_id AND m.deleted_at IS NULL AND m.seq > k.since
  GROUP BY k.user_id, k.campaign_id
)
SELECT k.user_id, k.campaign_id, k.read_seq, e.posted - COALESCE(o.posted, 0) AS unread,
       {campaign_columns}
FROM marks k
JOIN campaign cc ON cc.id = k.campaign_id
JOIN everyone e ON e.campaign_id = k.campaign_id AND e.since = k.since
LEFT JOIN own o ON o.user_id = k.user_id AND o.campaign_id = k.campaign_id
"""


_CAMPAIGN = "campaign__"


async def unread(pairs: Collection[tuple[int, int]]) -> dict[tuple[int, int], Unread]:
    """The count and marker of each (user, campaign) pair, in one query."""
    if not pairs:
        return {}
    users = sorted({user for user, _ in pairs})
    campaigns = sorted({campaign for _, campaign in pairs})
    sql = _UNREAD.format(
        users=raw_sql.marks(len(users)),
        campaigns=raw_sql.marks(len(campaigns), len(users) + 1),
        campaign_columns=raw_sql.columns(Campaign, "cc", _CAMPAIGN),
    )
    build = raw_sql.builder(Campaign, _CAMPAIGN)
    counts = {
        (row["user_id"], row["campaign_id"]): Unread(
            row["campaign_id"],
            int(row["unread"]),
            None if row["read_seq"] is None else int(row["read_seq"]),
            build(row),
        )
        for row in await raw_sql.records(sql, *users, *campaigns)
    }
    return {pair: counts[pair] for pair in pairs if pair in counts}


async def viewer_unread(viewer: User, campaign_pks: list[int]) -> list[Unread | None]:
    """The viewer's count and marker in each campaign (a dataloader's batch)."""
    found = await unread([(viewer.pk, pk) for pk in campaign_pks])
    return [found.get((viewer.pk, pk)) for pk in campaign_pks]
