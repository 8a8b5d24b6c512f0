"""Bulk actions on cards: many moves or assignments in one call, each card succeeding or
failing on its own, with the code it would have got alone; the events of one call share a
batch id."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from models import (
    AssignmentReason,
    Campaign,
    Opportunity,
    OpportunityResult,
    User,
    raw_sql,
)
from models.ranking import keys_between
from resolvers import retry_keys
from resolvers.access import can_see_cards, card_campaign, may_assign_cards, may_change_card
from resolvers.assignment import current_members, pick, rotation_members, set_owner
from resolvers.board import Target, log_move
from resolvers.context import Context
from resolvers.errors import AppError, BadUserInput, Forbidden, not_found
from resolvers.ids import decode_any
from resolvers.writes import campaign_write

MAX_IDS = 500


@dataclass(frozen=True, slots=True)
class Failure:
    position: int  # in the call's ids: failures are listed in that order
    global_id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Named:
    """A visible card an id of the call names, at `position` in the ids."""

    position: int
    global_id: str
    card: Opportunity


@dataclass
class BulkOutcome:
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    succeeded: list[Opportunity] = field(default_factory=list)
    _failed: list[Failure] = field(default_factory=list)

    def fail(self, position: int, global_id: str, error: AppError) -> None:
        code = str((error.extensions or {}).get("code", "INTERNAL_SERVER_ERROR"))
        self._failed.append(Failure(position, global_id, code, error.message))

    @property
    def failed(self) -> list[Failure]:
        return sorted(self._failed, key=lambda failure: failure.position)

    def remember(self) -> None:
        """This outcome, for a repeat of the call with its clientMutationId."""
        retry_keys.remember(
            bulk={
                "batch_id": self.batch_id,
                "succeeded": [card.pk for card in self.succeeded],
                "failed": [dataclasses.astuple(failure) for failure in self.failed],
            }
        )

    @classmethod
    def remembered(cls, data: dict[str, Any]) -> BulkOutcome:
        """The outcome a first call stored (its cards as they are now: the caller reads
        them again)."""
        outcome = cls(batch_id=str(data["batch_id"]))
        outcome._failed = [Failure(*failure) for failure in data["failed"]]
        return outcome


def _check_count(ids: list[str]) -> None:
    if not ids:
        raise BadUserInput("ids must name at least one opportunity", field="ids")
    if len(ids) > MAX_IDS:
        raise BadUserInput(f"ids may name at most {MAX_IDS} opportunities", field="ids")


async def _cards(context: Context, ids: list[str], outcome: BulkOutcome) -> list[Named]:
    """The visible cards the ids name, in order, each once; the others fail as alone
    (NOT_FOUND, as resolvers/access.visible_card answers). One query for all the cards."""
    pks = [_card_pk(global_id) for global_id in ids]
    cards = await context.loaders.opportunity_by_id.load_many([pk for pk in pks if pk])
    by_pk = {card.pk: card for card in cards if card is not None}
    found: list[Named] = []
    seen: set[int] = set()
    for position, (global_id, pk) in enumerate(zip(ids, pks, strict=True)):
        card = by_pk.get(pk) if pk else None
        if card is None or not await can_see_cards(context, await card_campaign(context, card)):
            outcome.fail(position, global_id, not_found("Opportunity", global_id))
        elif card.pk in seen:
            twice = BadUserInput("this opportunity is named twice", field="ids")
            outcome.fail(position, global_id, twice)
        else:
            seen.add(card.pk)
            found.append(Named(position, global_id, card))
    return found


def _card_pk(global_id: str) -> int | None:
    decoded = decode_any(global_id)
    return decoded[1] if decoded is not None and decoded[0] == "Opportunity" else None


async def _locked(campaign: Campaign, pks: list[int]) -> dict[int, Opportunity]:
    """The named cards of the locked campaign as committed, locked for the call."""
    if not pks:
        return {}
    build = raw_sql.builder(Opportunity)
    marks = raw_sql.marks(len(pks), 2)
    rows = await raw_sql.records(
        f"SELECT * FROM opportunity WHERE campaign_id = $1 AND id IN ({marks}) FOR NO KEY UPDATE",
        campaign.pk,
        *pks,
    )
    return {int(row["id"]): build(row) for row in rows}


async def move_many(
    context: Context, ids: list[str], stage_id: str, after_id: str | None
) -> BulkOutcome:
    """The cards into one step of their campaign, in the given order, right after
    `after_id` (first when None). BAD_USER_INPUT for the whole call when the step or the
    card to follow is wrong; per card otherwise."""
    _check_count(ids)
    viewer = context.require_viewer()
    campaign_pk, target = await _target(context, stage_id)
    outcome = BulkOutcome()
    named = await _cards(context, ids, outcome)
    async with campaign_write(campaign_pk) as campaign:
        after = await _after(campaign, target.pk, after_id, {one.card.pk for one in named})
        locked = await _locked(campaign, [one.card.pk for one in named])
        moving: list[Opportunity] = []
        for one in named:
            if one.card.campaign_id != campaign.pk:
                outcome.fail(one.position, one.global_id, _foreign(stage_id))
            elif one.card.pk not in locked:
                outcome.fail(one.position, one.global_id, not_found("Opportunity", one.global_id))
            elif not may_change_card(viewer, locked[one.card.pk], campaign):
                outcome.fail(one.position, one.global_id, Forbidden(_EDIT_MESSAGE))
            else:
                moving.append(locked[one.card.pk])
        if not moving:
            outcome.remember()
            return outcome
        following = await _first_after(target.pk, after, [card.pk for card in moving])
        ranks = keys_between(after[1] if after else None, following, len(moving))
        previous = after[0] if after else None
        for card, rank in zip(moving, ranks, strict=True):
            await log_move(
                campaign, card, target, rank, viewer, previous, batch_id=outcome.batch_id
            )
            previous = card.pk
            outcome.succeeded.append(card)
        outcome.remember()
    return outcome


_EDIT_MESSAGE = "changing an opportunity needs OPPORTUNITY_EDIT and its owner, manager or VIEW_ALL"


def _foreign(stage_id: str) -> BadUserInput:
    return BadUserInput(
        f"stageId: stage {stage_id!r} is not an approach step of this campaign", field="stageId"
    )


async def _target(context: Context, stage_id: str) -> tuple[int, Target]:
    """(its campaign, the step), when it is a step (not removed) of a campaign whose cards
    the viewer sees; NOT_FOUND otherwise."""
    decoded = decode_any(stage_id)
    stage = campaign = None
    if decoded is not None and decoded[0] == "Stage":
        stage = await context.loaders.stage_by_id.load(decoded[1])
    if stage is not None and stage.removed_at is None:
        campaign = await context.loaders.campaign_by_id.load(stage.campaign_id)
    if stage is None or campaign is None or not await can_see_cards(context, campaign):
        raise not_found("Stage", stage_id)
    return campaign.pk, Target(stage.pk, stage.probability)


async def _after(
    campaign: Campaign, stage_pk: int, after_id: str | None, moving: set[int]
) -> tuple[int, str] | None:
    """(pk, rank) of the card to follow, read under the lock: a card of the target step
    that is not itself moved."""
    if after_id is None:
        return None
    decoded = decode_any(after_id)
    rows = []
    if decoded is not None and decoded[0] == "Opportunity" and decoded[1] not in moving:
        rows = await raw_sql.rows(
            "SELECT id, rank FROM opportunity WHERE id = $1 AND stage_id = $2 AND campaign_id = $3",
            decoded[1],
            stage_pk,
            campaign.pk,
        )
    if not rows:
        raise BadUserInput(
            "afterId must be a card of the target stage that is not moved itself",
            field="afterId",
        )
    return int(rows[0]["id"]), str(rows[0]["rank"])


async def _first_after(
    stage_pk: int, after: tuple[int, str] | None, moving: list[int]
) -> str | None:
    """The rank of the first card staying in the step after `after` (None: last)."""
    marks = raw_sql.marks(len(moving), 3)
    rows = await raw_sql.rows(
        f"SELECT rank FROM opportunity WHERE stage_id = $1 AND rank > $2 AND id NOT IN ({marks}) "
        "ORDER BY rank, id LIMIT 1",
        stage_pk,
        after[1] if after else "",
        *moving,
    )
    return str(rows[0]["rank"]) if rows else None


async def assign_many(context: Context, ids: list[str], owner_id: str | None) -> BulkOutcome:
    """The cards to one owner (None: unowned), campaign by campaign, each under its lock;
    an owner who is not a member of a card's campaign fails that card."""
    _check_count(ids)
    viewer = context.require_viewer()
    owner_pk = None
    if owner_id is not None:
        decoded = decode_any(owner_id)
        if decoded is None or decoded[0] != "User":
            raise not_found("User", owner_id)
        owner_pk = decoded[1]
    outcome = BulkOutcome()
    by_campaign: dict[int, list[Named]] = {}
    positions: dict[int, int] = {}
    for one in await _cards(context, ids, outcome):
        by_campaign.setdefault(one.card.campaign_id, []).append(one)
        positions[one.card.pk] = one.position
    if len(by_campaign) > 1 and retry_keys.client_mutation_id() is not None:
        raise BadUserInput(
            "with a clientMutationId, the ids must be cards of one campaign (one transaction)",
            field="ids",
        )
    for campaign_pk, named in by_campaign.items():
        try:
            await _assign_in(campaign_pk, named, owner_pk, viewer, outcome)
        except AppError as error:  # the whole campaign (archived, deleted meanwhile)
            for one in named:
                outcome.fail(one.position, one.global_id, error)
    outcome.succeeded.sort(key=lambda card: positions[card.pk])  # the given order
    return outcome


async def _assign_in(
    campaign_pk: int,
    named: list[Named],
    owner_pk: int | None,
    viewer: User,
    outcome: BulkOutcome,
) -> None:
    async with campaign_write(campaign_pk) as campaign:
        locked = await _locked(campaign, [one.card.pk for one in named])
        members = await current_members(campaign)
        may_assign = may_assign_cards(viewer, campaign)
        for one in named:
            card = locked.get(one.card.pk)
            if card is None:
                outcome.fail(one.position, one.global_id, not_found("Opportunity", one.global_id))
            elif not may_assign:
                outcome.fail(one.position, one.global_id, Forbidden(_ASSIGN_MESSAGE))
            elif owner_pk is not None and owner_pk not in members:
                outcome.fail(
                    one.position,
                    one.global_id,
                    BadUserInput(
                        "ownerId: the owner must be the campaign's manager or one of its "
                        "participants",
                        field="ownerId",
                    ),
                )
            else:
                if card.owner_id != owner_pk:
                    await set_owner(
                        card,
                        owner_pk,
                        campaign,
                        viewer,
                        AssignmentReason.MANAGER,
                        batch_id=outcome.batch_id,
                    )
                outcome.succeeded.append(card)
        outcome.remember()


_ASSIGN_MESSAGE = "assigning needs OPPORTUNITY_EDIT and the campaign's manager or VIEW_ALL"


async def rebalance(campaign_pk: int, actor: User) -> BulkOutcome:
    """Spread the campaign's open cards again over the available rotation members by
    weight and capacity (Getfly's "shuffle opportunities"): the shares automatic
    assignment would give them from nothing. A card stays with its owner while that
    owner's share has room; the others go to members below their share, the rule's way.
    Cards past every capacity keep their owner. Only changed cards are logged."""
    outcome = BulkOutcome()
    async with campaign_write(campaign_pk) as campaign:
        rotation = await rotation_members(campaign)
        cards = await raw_sql.instances(
            Opportunity,
            "SELECT * FROM opportunity WHERE campaign_id = $1 AND result = $2 "
            "ORDER BY id FOR NO KEY UPDATE",
            campaign.pk,
            OpportunityResult.OPEN.value,
        )
        shares = Counter[int]()
        for _ in cards:
            chosen = pick(rotation, shares)
            if chosen is None:
                break
            shares[chosen] += 1
        held = Counter[int]()
        moving = []
        for card in cards:
            if card.owner_id is not None and held[card.owner_id] < shares[card.owner_id]:
                held[card.owner_id] += 1
            else:
                moving.append(card)
        for card in moving:
            below = [member for member in rotation if held[member.user_id] < shares[member.user_id]]
            chosen = pick(below, held)
            if chosen is None:
                break  # past every capacity: the rest keep their owners
            held[chosen] += 1
            if card.owner_id != chosen:
                await set_owner(
                    card, chosen, campaign, actor, AssignmentReason.REBALANCE,
                    batch_id=outcome.batch_id,
                )  # fmt: skip
                outcome.succeeded.append(card)
    return outcome
