"""Kanban drag and drop: a card changes column and/or place, rewriting one row."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import timezone

from models import EventKind, Opportunity, OpportunityResult, User, raw_sql
from models.ranking import key_between
from resolvers.errors import BadUserInput
from resolvers.ids import decode_id
from resolvers.writes import campaign_write, locked_card, log_event


@dataclass(frozen=True, slots=True)
class Move:
    card: Opportunity
    from_stage_id: int
    after_id: int | None

    @property
    def changed_stage(self) -> bool:
        return self.card.stage_id != self.from_stage_id


async def move_opportunity(
    card: Opportunity,
    actor: User,
    *,
    stage_id: str,
    after_id: str | None,
    expected_version: int | None,
) -> Move:
    """Put the card in `stage_id`, right after `after_id` (None: first in the column).

    Drag and drop is the busiest write there is: its statements are written out
    (models/raw_sql.py), seven of them while the campaign's lock is held."""
    async with campaign_write(card.campaign_id) as campaign:
        card = await locked_card(campaign, card.pk, expected_version)
        target = await _target(campaign.pk, stage_id)
        previous = await _previous_card(target.pk, card, after_id)
        following = await _following(target.pk, card, previous)
        from_stage_id = card.stage_id
        card.rank = key_between(previous.rank if previous else None, following)
        card.stage_id = target.pk
        if from_stage_id != target.pk:
            if target.probability is not None and card.result == OpportunityResult.OPEN:
                card.probability = target.probability
            await raw_sql.execute(
                "INSERT INTO stage_change (opportunity_id, from_stage_id, to_stage_id, actor_id, "
                "at) VALUES ($1, $2, $3, $4, $5)",
                card.pk,
                from_stage_id,
                target.pk,
                actor.pk,
                timezone.now(),
            )
        card.version += 1
        card.updated_at = timezone.now()
        await raw_sql.execute(
            "UPDATE opportunity SET stage_id = $1, rank = $2, probability = $3, version = $4, "
            "updated_at = $5 WHERE id = $6",
            card.stage_id,
            card.rank,
            card.probability,
            card.version,
            card.updated_at,
            card.pk,
        )
        await log_event(
            campaign,
            EventKind.OPPORTUNITY_MOVED,
            actor,
            opportunity_id=card.pk,
            from_stage_id=from_stage_id,
            to_stage_id=target.pk,
            after_id=previous.pk if previous else None,
        )
    return Move(card, from_stage_id, previous.pk if previous else None)


@dataclass(frozen=True, slots=True)
class _Target:
    pk: int
    probability: int | None


@dataclass(frozen=True, slots=True)
class _Neighbour:
    pk: int
    rank: str


async def _target(campaign_pk: int, stage_id: str) -> _Target:
    """The step the card goes to: an approach step of this campaign, not removed."""
    found = await raw_sql.rows(
        "SELECT id, campaign_id, probability, removed_at FROM stage WHERE id = $1",
        decode_id(stage_id, "Stage"),
    )
    if not found or found[0]["campaign_id"] != campaign_pk or found[0]["removed_at"] is not None:
        raise BadUserInput(
            f"stageId: stage {stage_id!r} is not an approach step of this campaign",
            field="stageId",
        )
    return _Target(found[0]["id"], found[0]["probability"])


async def _previous_card(
    target_pk: int, card: Opportunity, after_id: str | None
) -> _Neighbour | None:
    if after_id is None:
        return None
    found = await raw_sql.rows(
        "SELECT id, stage_id, rank FROM opportunity WHERE id = $1",
        decode_id(after_id, "Opportunity"),
    )
    if not found or found[0]["stage_id"] != target_pk or found[0]["id"] == card.pk:
        raise BadUserInput("afterId must be another card of the target stage", field="afterId")
    return _Neighbour(found[0]["id"], found[0]["rank"])


async def _following(target_pk: int, card: Opportunity, previous: _Neighbour | None) -> str | None:
    """The rank of the card the moved one will precede, if any."""
    if previous is None:
        found = await raw_sql.rows(
            "SELECT rank FROM opportunity WHERE stage_id = $1 AND id <> $2 "
            "ORDER BY rank, id LIMIT 1",
            target_pk,
            card.pk,
        )
    else:
        found = await raw_sql.rows(
            "SELECT rank FROM opportunity WHERE stage_id = $1 AND id <> $2 AND rank > $3 "
            "ORDER BY rank, id LIMIT 1",
            target_pk,
            card.pk,
            previous.rank,
        )
    return str(found[0]["rank"]) if found else None
