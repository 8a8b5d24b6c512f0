"""Approach steps: adding, renaming, reordering and removing a board's columns."""

from __future__ import annotations

from datetime import UTC, datetime

from strawberry import UNSET
from strawberry.types.unset import UnsetType
from tortoise import timezone

from models import (
    Campaign,
    EventKind,
    Opportunity,
    OpportunityResult,
    Stage,
    StageChange,
    StayEnd,
    User,
)
from models.ranking import keys_after
from models.stage import active_stages
from resolvers import stays
from resolvers.campaigns import MAX_STAGES
from resolvers.errors import BadUserInput
from resolvers.ids import decode_id
from resolvers.validation import check_probability, clean_text
from resolvers.writes import campaign_write, log_event

MAX_ROTTING_DAYS = 3650


async def add_stage(
    campaign_pk: int,
    actor: User,
    *,
    name: str,
    probability: int | None,
    position: int | None,
    rotting_days: int | None = None,
) -> Stage:
    """A new step at `position` (appended when None); later steps shift right."""
    name = clean_text(name, "name")
    if probability is not None:
        check_probability(probability)
    if rotting_days is not None:
        _check_rotting_days(rotting_days)
    async with campaign_write(campaign_pk) as campaign:
        stages = await _stages(campaign_pk)
        if len(stages) >= MAX_STAGES:
            raise BadUserInput(f"a campaign has at most {MAX_STAGES} approach steps")
        index = len(stages) if position is None else _position(position, len(stages) + 1)
        stage = Stage(
            campaign_id=campaign_pk,
            name=name,
            probability=probability,
            rotting_days=rotting_days,
            position=-1,
        )
        stages.insert(index, stage)
        await _renumber(stages)
        await _log_stages_changed(campaign, actor)
    return stage


async def update_stage(
    stage_pk: int,
    actor: User,
    *,
    name: str | UnsetType | None = UNSET,
    probability: int | UnsetType | None = UNSET,
    rotting_days: int | UnsetType | None = UNSET,
    position: int | UnsetType | None = UNSET,
) -> Stage:
    campaign_pk = (await Stage.get(id=stage_pk)).campaign_id
    async with campaign_write(campaign_pk) as campaign:
        stages = await _stages(campaign_pk)
        stage = next(stage for stage in stages if stage.pk == stage_pk)
        if isinstance(name, str):
            stage.name = clean_text(name, "name")
        if not isinstance(probability, UnsetType):
            stage.probability = None if probability is None else check_probability(probability)
        if not isinstance(rotting_days, UnsetType):
            stage.rotting_days = None if rotting_days is None else _check_rotting_days(rotting_days)
        if isinstance(position, int):
            stages.remove(stage)
            stages.insert(_position(position, len(stages) + 1), stage)
        await stage.save()
        await _renumber(stages)
        await _log_stages_changed(campaign, actor)
    return stage


async def remove_stage(stage_pk: int, actor: User, move_to: str | None) -> Campaign:
    """Remove a step; its cards go to `move_to`, required when it holds any."""
    campaign_pk = (await Stage.get(id=stage_pk)).campaign_id
    async with campaign_write(campaign_pk) as campaign:
        stages = await _stages(campaign_pk)
        stage = next(stage for stage in stages if stage.pk == stage_pk)
        if len(stages) == 1:
            raise BadUserInput("a campaign needs at least one approach step: add another first")
        cards = await Opportunity.filter(stage_id=stage_pk).order_by("rank", "id")
        if cards:
            target = _target(stages, stage, move_to)
            await _move_cards(campaign, cards, target, actor)
        stage.removed_at = datetime.now(UTC)
        await stage.save()
        stages.remove(stage)
        await _renumber(stages)
        await _log_stages_changed(campaign, actor)
        return campaign


def _check_rotting_days(days: int) -> int:
    if not 0 <= days <= MAX_ROTTING_DAYS:
        raise BadUserInput(
            f"rottingDays must be between 0 and {MAX_ROTTING_DAYS}", field="rottingDays"
        )
    return days


def _target(stages: list[Stage], removed: Stage, move_to: str | None) -> Stage:
    if move_to is None:
        raise BadUserInput(
            f"stage {removed.name!r} holds opportunities: "
            "give moveOpportunitiesToStageId to say where they go",
            field="moveOpportunitiesToStageId",
        )
    target_pk = decode_id(move_to, "Stage")
    target = next((stage for stage in stages if stage.pk == target_pk), None)
    if target is None or target is removed:
        raise BadUserInput(
            "moveOpportunitiesToStageId must be another approach step of the same campaign",
            field="moveOpportunitiesToStageId",
        )
    return target


async def _move_cards(
    campaign: Campaign, cards: list[Opportunity], target: Stage, actor: User
) -> None:
    """Append the cards, in their order, after the target column's last card."""
    last = await Opportunity.filter(stage_id=target.pk).order_by("-rank").first()
    ranks = keys_after(last.rank if last else None, len(cards))
    now = timezone.now()
    for card, rank in zip(cards, ranks, strict=True):
        await Opportunity.filter(id=card.pk).update(
            stage_id=target.pk, rank=rank, version=card.version + 1, stage_entered_at=now
        )
        if card.result == OpportunityResult.OPEN:
            await stays.run(
                stays.leaving(card, now, StayEnd.MOVED), stays.entering(card.pk, target.pk, now)
            )
    await StageChange.bulk_create(
        StageChange(
            opportunity_id=card.pk,
            from_stage_id=card.stage_id,
            to_stage_id=target.pk,
            actor_id=actor.pk,
            at=now,
            seconds_in_from_stage=(
                stays.seconds_in_stage(card, now) if card.result == OpportunityResult.OPEN else None
            ),
        )
        for card in cards
    )
    previous = last.pk if last else None
    for card in cards:
        await log_event(
            campaign,
            EventKind.OPPORTUNITY_MOVED,
            actor,
            columns=[card.stage_id, target.pk],
            opportunity_id=card.pk,
            from_stage_id=card.stage_id,
            to_stage_id=target.pk,
            after_id=previous,
        )
        previous = card.pk


async def _stages(campaign_pk: int) -> list[Stage]:
    return list(await active_stages(campaign_pk))


async def _log_stages_changed(campaign: Campaign, actor: User) -> None:
    await log_event(campaign, EventKind.CAMPAIGN_UPDATED, actor, changed_fields=["stages"])


def _position(position: int, slots: int) -> int:
    if not 0 <= position < slots:
        raise BadUserInput(f"position must be between 0 and {slots - 1}", field="position")
    return position


async def _renumber(stages: list[Stage]) -> None:
    for index, stage in enumerate(stages):
        if stage.position != index or stage.pk is None:
            stage.position = index
            await stage.save()
