"""Time in stage and rotting: random card histories, at controlled times, against a
brute-force model of the stays they make (a stay starts on creation, copy, a move from
another step or a reopen, and ends on a move to another step, won or lost)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from tortoise import timezone

from models import Permission
from tests.clock import Clock
from tests.factories import gid, make_campaign, make_customer, make_user, stages_of

STAGES = ("New", "Contacted", "Proposal")

CREATE = """
mutation ($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }
"""
MOVE = """
mutation ($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { id } }
"""
WIN = """
mutation ($input: MarkOpportunityWonInput!) { markOpportunityWon(input: $input) { id } }
"""
LOSE = """
mutation ($input: MarkOpportunityLostInput!) { markOpportunityLost(input: $input) { id } }
"""
REOPEN = "mutation ($id: ID!) { reopenOpportunity(id: $id) { id } }"
COPY = """
mutation ($input: CopyOpportunityInput!) { copyOpportunity(input: $input) { id } }
"""
DELETE = "mutation ($id: ID!) { deleteOpportunity(id: $id) }"
UPDATE_STAGE = """
mutation ($input: UpdateStageInput!) { updateStage(input: $input) { rottingDays } }
"""
BOARD = """
query ($id: ID!) {
  campaign(id: $id) {
    stages {
      id rottingDays rottingCount averageSecondsInStage
      opportunities(first: 100) {
        edges { node { id stageEnteredAt rottingSince stageHistory { secondsInFromStage } } }
      }
    }
  }
}
"""


@dataclass
class Card:
    """The model of one card: where it is, since when, and what its changes ended."""

    id: str
    stage: int
    entered: datetime
    open: bool = True
    deleted: bool = False
    changes: list[float | None] = field(default_factory=lambda: [None])


@dataclass
class Board:
    cards: list[Card] = field(default_factory=list)
    ended: list[tuple[Card, int, float]] = field(default_factory=list)  # card, stage, seconds

    def live(self) -> list[Card]:
        return [card for card in self.cards if not card.deleted]

    def leave(self, card: Card, at: datetime) -> float:
        seconds = (at - card.entered).total_seconds()
        self.ended.append((card, card.stage, seconds))
        return seconds


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "move", "win", "lose", "reopen", "copy", "delete"]),
        st.integers(0, 50),
        st.integers(0, len(STAGES) - 1),
        st.integers(0, 60 * 60 * 30),  # seconds the clock moves on first
    ),
    min_size=1,
    max_size=14,
)
ROTTING = st.lists(st.one_of(st.none(), st.integers(0, 2)), min_size=3, max_size=3)


@examples(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, rotting_days=ROTTING)
async def test_stays_seconds_and_rotting_equal_a_model_of_the_history(api, steps, rotting_days):
    clock = Clock()
    with patch.object(timezone, "now", clock):
        # given a campaign whose steps rot after 0, 1 or 2 days, or never
        manager = await make_user(*Permission)
        campaign = await make_campaign(manager, stages=STAGES, allow_duplicate_opportunities=True)
        stages = await stages_of(campaign)
        for stage, days in zip(stages, rotting_days, strict=True):
            update = {"input": {"id": gid("Stage", stage), "rottingDays": days}}
            assert (await api.execute(UPDATE_STAGE, update, viewer=manager)).ok()
        # when a random history of changes happens, the clock moving on between them
        board = Board()
        for action, pick, stage_index, wait in steps:
            clock.now += timedelta(seconds=wait)
            await _apply(
                api, manager, campaign, stages, board, clock.now, action, pick, stage_index
            )
        clock.now += timedelta(hours=13)
        # then every figure equals the model's
        read = (await api.execute(BOARD, {"id": gid("Campaign", campaign)}, viewer=manager)).ok()
        _assert_board_equals_model(
            read["campaign"]["stages"], stages, board, rotting_days, clock.now
        )


async def _apply(api, manager, campaign, stages, board, now, action, pick, stage_index):
    live = board.live()
    card = live[pick % len(live)] if live else None
    if action == "create" or card is None:
        customer = await make_customer()
        variables = {
            "input": {
                "campaignId": gid("Campaign", campaign),
                "customerId": gid("Customer", customer),
                "stageId": gid("Stage", stages[stage_index]),
            }
        }
        created = (await api.execute(CREATE, variables, viewer=manager)).ok()
        board.cards.append(Card(created["createOpportunity"]["id"], stage_index, now))
    elif action == "move":
        variables = {"input": {"id": card.id, "stageId": gid("Stage", stages[stage_index])}}
        assert (await api.execute(MOVE, variables, viewer=manager)).ok()
        if stage_index != card.stage:
            card.changes.append(board.leave(card, now) if card.open else None)
            card.stage, card.entered = stage_index, now
    elif action in ("win", "lose") and card.open:
        if action == "win":
            await _ok(api, manager, WIN, {"input": {"id": card.id, "orderAmount": "10"}})
        else:
            await _ok(api, manager, LOSE, {"input": {"id": card.id, "reason": "price"}})
        board.leave(card, now)
        card.open = False
    elif action == "reopen" and not card.open:
        await _ok(api, manager, REOPEN, {"id": card.id})
        card.open, card.entered = True, now
    elif action == "copy":
        variables = {"input": {"id": card.id, "campaignId": gid("Campaign", campaign)}}
        copied = (await api.execute(COPY, variables, viewer=manager)).ok()
        board.cards.append(Card(copied["copyOpportunity"]["id"], 0, now))
    elif action == "delete":
        await _ok(api, manager, DELETE, {"id": card.id})
        card.deleted = True


async def _ok(api, viewer, document, variables):
    assert (await api.execute(document, variables, viewer=viewer)).ok()


def _assert_board_equals_model(read_stages, stages, board, rotting_days, now):
    by_id = {card.id: card for card in board.live()}
    for index, (read, days) in enumerate(zip(read_stages, rotting_days, strict=True)):
        assert read["id"] == gid("Stage", stages[index])
        assert read["rottingDays"] == days
        # averageSecondsInStage: the mean of the ended stays there, deleted cards left out
        ended = [s for card, stage, s in board.ended if stage == index and not card.deleted]
        expected_average = sum(ended) / len(ended) if ended else None
        assert read["averageSecondsInStage"] == pytest.approx(expected_average), read["id"]
        # rottingCount and rottingSince: open cards past stageEnteredAt + rottingDays
        rotting = 0
        listed = [edge["node"] for edge in read["opportunities"]["edges"]]
        assert sorted(node["id"] for node in listed) == sorted(
            card.id for card in by_id.values() if card.stage == index
        )
        for node in listed:
            card = by_id[node["id"]]
            assert datetime.fromisoformat(node["stageEnteredAt"]) == card.entered
            since = None if days is None else card.entered + timedelta(days=days)
            rots = card.open and since is not None and since <= now
            rotting += rots
            assert node["rottingSince"] == (since.isoformat() if rots else None), node["id"]
            seconds = [change["secondsInFromStage"] for change in node["stageHistory"]]
            assert seconds == pytest.approx(card.changes), node["id"]
        assert read["rottingCount"] == rotting, read["id"]
