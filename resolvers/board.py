"""Kanban drag and drop: a card changes column and/or place, rewriting one row."""

from __future__ import annotations

from dataclasses import dataclass

from models import EventKind, Opportunity, OpportunityResult, Stage, StageChange, User
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
    """Put the card in `stage_id`, right after `after_id` (None: first in the column)."""
    async with campaign_write(card.campaign_id) as campaign:
        card = await locked_card(campaign, card.pk, expected_version)
        target = await Stage.get_or_none(id=decode_id(stage_id, "Stage"))
        if target is None or target.campaign_id != campaign.pk or target.removed_at is not None:
            raise BadUserInput(
                f"stageId: stage {stage_id!r} is not an approach step of this campaign",
                field="stageId",
            )
        previous = await _previous_card(target, card, after_id)
        following = await _following(target, card, previous)
        from_stage_id = card.stage_id
        card.rank = key_between(previous.rank if previous else None, following)
        card.stage_id = target.pk
        if from_stage_id != target.pk:
            if target.probability is not None and card.result == OpportunityResult.OPEN:
                card.probability = target.probability
            await StageChange.create(
                opportunity_id=card.pk,
                from_stage_id=from_stage_id,
                to_stage_id=target.pk,
                actor_id=actor.pk,
            )
        card.version += 1
        await card.save()
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


async def _previous_card(
    target: Stage, card: Opportunity, after_id: str | None
) -> Opportunity | None:
    if after_id is None:
        return None
    previous = await Opportunity.get_or_none(id=decode_id(after_id, "Opportunity"))
    if previous is None or previous.stage_id != target.pk or previous.pk == card.pk:
        raise BadUserInput("afterId must be another card of the target stage", field="afterId")
    return previous


async def _following(target: Stage, card: Opportunity, previous: Opportunity | None) -> str | None:
    """The rank of the card the moved one will precede, if any."""
    column = Opportunity.filter(stage_id=target.pk).exclude(id=card.pk)
    if previous is not None:
        column = column.filter(rank__gt=previous.rank)
    following = await column.order_by("rank", "id").first()
    return following.rank if following else None
