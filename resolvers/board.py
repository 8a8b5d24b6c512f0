"""Kanban drag and drop: a card changes column and/or place, rewriting one row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tortoise import timezone

from models import Campaign, EventKind, Opportunity, OpportunityResult, StayEnd, User, raw_sql
from models.ranking import key_between
from resolvers import stage_totals, stays
from resolvers.errors import BadUserInput, NotFound
from resolvers.ids import decode_id
from resolvers.writes import Named, Reading, card_write_reading, log_event


@dataclass(frozen=True, slots=True)
class Move:
    card: Opportunity
    from_stage_id: int
    after_id: int | None

    @property
    def changed_stage(self) -> bool:
        return self.card.stage_id != self.from_stage_id


async def move_opportunity(
    card: Opportunity | Named,
    actor: User,
    *,
    stage_id: str,
    after_id: str | None,
    expected_version: int | None,
) -> Move:
    """Put the card in `stage_id`, right after `after_id` (None: first in the column).

    Drag and drop is the busiest write there is: its statements are written out
    (models/raw_sql.py). On PostgreSQL the campaign's lock is held for one read (the lock,
    the card and, through `card_place` (migration 0015), where it goes) and one write,
    every change at once: the stage history, the stays (resolvers/stays.py), the card and
    the event. A `Named` card is judged in that read too, so a move reads its card once."""
    keys = _PlaceKeys.of(stage_id, after_id)
    reading = keys.reading() if raw_sql.on_postgres() else None
    async with card_write_reading(card, expected_version, reading) as (campaign, card, row):
        if reading is None:  # SQLite: where it goes is read next, under the lock
            found = await raw_sql.rows(_PLACE, card.pk, keys.previous_pk, keys.target_pk)
            row = found[0] if found else _NO_STEP
        target, previous, following = _place(campaign.pk, card, stage_id, after_id, row)
        from_stage_id = card.stage_id
        rank = key_between(previous.rank if previous else None, following)
        await log_move(campaign, card, target, rank, actor, previous.pk if previous else None)
    return Move(card, from_stage_id, previous.pk if previous else None)


async def log_move(
    campaign: Campaign,
    card: Opportunity,
    target: Target,
    rank: str,
    actor: User,
    after_pk: int | None,
    **data: Any,
) -> None:
    """Put the locked card in `target` at `rank` and log OpportunityMoved (with `data`),
    in one statement on PostgreSQL: the stage history, the stays, the card and the event."""
    from_stage_id = card.stage_id
    now = timezone.now()
    card.rank = rank
    card.stage_id = target.pk
    writes: list[raw_sql.Statement] = []
    if from_stage_id != target.pk:
        is_open = card.result == OpportunityResult.OPEN
        if target.probability is not None and is_open:
            card.probability = target.probability
        writes.append(
            (
                "INSERT INTO stage_change (opportunity_id, from_stage_id, to_stage_id, "
                "actor_id, at, seconds_in_from_stage) VALUES ($1, $2, $3, $4, $5, $6)",
                (
                    card.pk,
                    from_stage_id,
                    target.pk,
                    actor.pk,
                    now,
                    stays.seconds_in_stage(card, now) if is_open else None,
                ),
            )
        )
        if is_open:  # a closed card is in no stay: its reopen starts the next one
            writes += [
                stays.leaving(card, now, StayEnd.MOVED),
                stays.entering(card.pk, target.pk, now),
            ]
        card.stage_entered_at = now
    card.version += 1
    card.updated_at = now
    writes.append(
        (
            "UPDATE opportunity SET stage_id = $1, rank = $2, probability = $3, "
            "version = $4, updated_at = $5, stage_entered_at = $6 WHERE id = $7",
            (
                card.stage_id,
                card.rank,
                card.probability,
                card.version,
                card.updated_at,
                stays.entered_at(card),
                card.pk,
            ),
        )
    )
    await log_event(
        campaign,
        EventKind.OPPORTUNITY_MOVED,
        actor,
        together_with=writes,
        columns=[from_stage_id, target.pk],
        replaced=stage_totals.Replaced(
            card.pk,
            card.stage_id,
            card.amount,
            card.probability,
            card.result,
            stays.entered_at(card),
        ),
        opportunity_id=card.pk,
        from_stage_id=from_stage_id,
        to_stage_id=target.pk,
        after_id=after_pk,
        **data,
    )


@dataclass(frozen=True, slots=True)
class Target:
    """A step a card moves to, with the probability it gives open cards."""

    pk: int
    probability: int | None


@dataclass(frozen=True, slots=True)
class _Neighbour:
    pk: int
    rank: str


# The target step, the card to follow (if any) and the rank of the card after it: SQLite
# reads it with this statement, PostgreSQL with `card_place`, the same query. Each mark
# appears once, in order (models/raw_sql.py).
_PLACE = """
SELECT s.campaign_id AS step_campaign_id, s.probability AS step_probability,
       s.removed_at AS step_removed_at,
       p.id AS previous_id, p.stage_id AS previous_stage_id, p.rank AS previous_rank,
       (SELECT f.rank FROM opportunity f
         WHERE f.stage_id = s.id AND f.id <> $1 AND (p.id IS NULL OR f.rank > p.rank)
         ORDER BY f.rank, f.id LIMIT 1) AS following
FROM stage s LEFT JOIN opportunity p ON p.id = $2
WHERE s.id = $3
"""
# Called with the locked card's id, so only once the lock is held.
_LOCKED_PLACE = "LEFT JOIN LATERAL card_place(locked.id, $3, $4) AS place ON true"
_NO_STEP: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class _PlaceKeys:
    """The target step's and the previous card's keys (0 for a malformed ID, refused
    under the lock as before)."""

    target_pk: int
    previous_pk: int | None

    @classmethod
    def of(cls, stage_id: str, after_id: str | None) -> _PlaceKeys:
        previous_pk = None if after_id is None else _pk_or_0(after_id, "Opportunity")
        return cls(_pk_or_0(stage_id, "Stage"), previous_pk)

    def reading(self) -> Reading:
        return Reading("place.*", _LOCKED_PLACE, (self.previous_pk, self.target_pk))


def _pk_or_0(global_id: str, type_name: str) -> int:
    try:
        return decode_id(global_id, type_name)
    except NotFound:
        return 0


def _place(
    campaign_pk: int, card: Opportunity, stage_id: str, after_id: str | None, row: Mapping[str, Any]
) -> tuple[Target, _Neighbour | None, str | None]:
    """Where the card goes: an approach step of this campaign (not removed), after
    another card of that step (or first), before the rank returned (or last)."""
    target_pk = decode_id(stage_id, "Stage")
    if row.get("step_campaign_id") != campaign_pk or row["step_removed_at"] is not None:
        raise BadUserInput(
            f"stageId: stage {stage_id!r} is not an approach step of this campaign",
            field="stageId",
        )
    if after_id is not None:
        decode_id(after_id, "Opportunity")  # a malformed ID answers as before: NOT_FOUND
        if (
            row["previous_id"] is None
            or row["previous_stage_id"] != target_pk
            or (row["previous_id"] == card.pk)
        ):
            raise BadUserInput("afterId must be another card of the target stage", field="afterId")
    previous = (
        None if row["previous_id"] is None else _Neighbour(row["previous_id"], row["previous_rank"])
    )
    following = row["following"]
    return Target(target_pk, row["step_probability"]), previous, following
