"""Campaign.stats: random card histories at controlled times (creates, updates, moves,
wins, losses with and without a managed reason, reopens, copies, deletes), read over a
random window of creation, against a brute-force count over a model of the history."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from tortoise import timezone

from models import Permission
from tests.clock import Clock
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)

STAGES = ("New", "Qualified", "Proposal", "Negotiation")
DEFAULT_PROBABILITY = (None, 30, None, 80)  # each step's default, taken by a move in
AMOUNTS = (None, "0", "12.34", "999.99", "100000", "0.05")
CLOSING = (
    None,
    datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 4, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 5, 15, 12, 0, tzinfo=UTC),
    datetime.fromisoformat("2026-05-31T21:00:00-05:00"),  # June in UTC, May where written
)

CREATE = """
mutation ($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }
"""
UPDATE = """
mutation ($input: UpdateOpportunityInput!) { updateOpportunity(input: $input) { id } }
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
ADD_REASON = "mutation ($input: AddLossReasonInput!) { addLossReason(input: $input) { id } }"
ARCHIVE_REASON = "mutation ($id: ID!) { archiveLossReason(id: $id) { id } }"
UPDATE_STAGE = "mutation ($input: UpdateStageInput!) { updateStage(input: $input) { id } }"
STATS = """
query ($id: ID!, $from: DateTime, $to: DateTime) {
  campaign(id: $id) {
    stats(from: $from, to: $to) {
      opportunityCount openCount wonCount lostCount winRate wonAmount weightedOpenAmount
      stages {
        stage { id name }
        entered advanced conversionRate averageSecondsInStage lostHere
      }
      lossReasons { reason { id name archived } count amount }
      forecast { month count weightedAmount }
    }
  }
}
"""


@dataclass
class Stay:
    stage: int
    entered: datetime
    seconds: float | None = None  # set when it ends


@dataclass
class Card:
    id: str
    created: datetime
    stage: int
    probability: int
    amount: Decimal | None
    closing: datetime | None
    result: str = "OPEN"
    reason: str | None = None
    deleted: bool = False
    stays: list[Stay] = field(default_factory=list)

    def enter(self, stage: int, at: datetime) -> None:
        self.stage = stage
        self.stays.append(Stay(stage, at))

    def leave(self, at: datetime) -> None:
        self.stays[-1].seconds = (at - self.stays[-1].entered).total_seconds()


ACTIONS = ("create", "create", "update", "move", "move", "win", "lose", "reopen", "copy", "delete")
STEPS = st.lists(
    st.tuples(
        st.sampled_from(ACTIONS),
        st.integers(0, 50),  # which card
        st.integers(0, len(STAGES) - 1),  # a step
        st.integers(0, 100),  # a probability
        st.integers(0, 5),  # an amount, a closing date or a loss reason
        st.integers(0, 60 * 60 * 40),  # seconds the clock moves on first
    ),
    min_size=1,
    max_size=20,
)
# the indexes of the cards whose creation bounds the window; None: an open end
WINDOW = st.tuples(*[st.one_of(st.none(), st.integers(0, 10))] * 2)
# every rule at least once: moves up and back, a win, losses with and without a reason,
# a lost card moved, one lost again after a reopen and a move, a copy and a delete
HISTORY = [
    ("create", 0, 0, 10, 2, 0),
    ("move", 0, 1, 0, 0, 600),
    ("move", 0, 3, 0, 0, 3600),
    ("move", 0, 2, 0, 0, 60),
    ("win", 0, 0, 0, 0, 7200),
    ("create", 0, 1, 50, 3, 60),
    ("lose", 1, 0, 0, 0, 86400),
    ("move", 1, 3, 0, 0, 60),
    ("create", 0, 2, 25, 1, 60),
    ("lose", 2, 0, 0, 5, 600),
    ("reopen", 2, 0, 0, 0, 60),
    ("move", 2, 3, 0, 0, 900),
    ("lose", 2, 0, 0, 1, 60),
    ("copy", 2, 0, 0, 0, 60),
    ("create", 0, 0, 75, 4, 86400 * 40),
    ("delete", 3, 0, 0, 0, 60),
]


@examples(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, window=WINDOW)
@example(steps=HISTORY, window=(None, None))
@example(steps=HISTORY, window=(1, 4))
async def test_stats_equal_a_count_over_a_model_of_the_history(api, steps, window):
    clock = Clock()
    with patch.object(timezone, "now", clock):
        # given a campaign with default probabilities on some steps and three loss
        # reasons, one of them archived after use
        manager = await make_user(*Permission)
        campaign = await make_campaign(manager, stages=STAGES, allow_duplicate_opportunities=True)
        stages = await stages_of(campaign)
        for stage, default in zip(stages, DEFAULT_PROBABILITY, strict=True):
            update = {"input": {"id": gid("Stage", stage), "probability": default}}
            await _ok(api, manager, UPDATE_STAGE, update)
        reasons = {}
        for name in ("Price", "Timing", "Competitor"):
            variables = {"input": {"campaignId": gid("Campaign", campaign), "name": name}}
            added = await _ok(api, manager, ADD_REASON, variables)
            reasons[added["addLossReason"]["id"]] = name
        # when a random history happens, the clock moving on between its changes
        model: list[Card] = []
        for step in steps:
            clock.now += timedelta(seconds=step[-1])
            await _apply(api, manager, campaign, stages, list(reasons), model, clock.now, step)
        await _ok(api, manager, ARCHIVE_REASON, {"id": list(reasons)[2]})
        clock.now += timedelta(hours=1)
        # then the figures over a window of creation equal a count over the model
        since, until = (_bound(model, index) for index in window)
        if since and until and until < since:
            since, until = until, since
        variables = {
            "id": gid("Campaign", campaign),
            "from": since and since.isoformat(),
            "to": until and until.isoformat(),
        }
        read = (await api.execute(STATS, variables, viewer=manager)).ok()
    stats = read["campaign"]["stats"]
    cards = [
        card
        for card in model
        if not card.deleted
        and (since is None or card.created >= since)
        and (until is None or card.created < until)
    ]
    _assert_stats_equal_model(stats, cards, stages, reasons)


def _bound(model: list[Card], index: int | None) -> datetime | None:
    """The creation time of the index-th card made (or one minute after the last), or
    None for an open end."""
    if index is None:
        return None
    if index < len(model):
        return model[index].created
    return (model[-1].created if model else datetime(2026, 1, 1, tzinfo=UTC)) + timedelta(minutes=1)


async def _apply(api, manager, campaign, stages, reason_ids, model, now, step):
    action, pick, stage_index, probability, choice, _ = step
    live = [card for card in model if not card.deleted]
    card = live[pick % len(live)] if live else None
    if action == "create" or card is None:
        customer = await make_customer()
        amount, closing = AMOUNTS[choice], CLOSING[choice % len(CLOSING)]
        variables = {
            "input": {
                "campaignId": gid("Campaign", campaign),
                "customerId": gid("Customer", customer),
                "stageId": gid("Stage", stages[stage_index]),
                "probability": probability,
                "amount": amount,
                "expectedCloseAt": closing and closing.isoformat(),
            }
        }
        created = await _ok(api, manager, CREATE, variables)
        card = Card(
            created["createOpportunity"]["id"],
            now,
            stage_index,
            probability,
            None if amount is None else Decimal(amount),
            closing,
        )
        card.enter(stage_index, now)
        model.append(card)
    elif action == "update" and card.result == "OPEN":
        amount, closing = AMOUNTS[(choice + 1) % len(AMOUNTS)], CLOSING[choice % len(CLOSING)]
        variables = {
            "input": {
                "id": card.id,
                "probability": probability,
                "amount": amount,
                "expectedCloseAt": closing and closing.isoformat(),
            }
        }
        await _ok(api, manager, UPDATE, variables)
        card.probability, card.closing = probability, closing
        card.amount = None if amount is None else Decimal(amount)
    elif action == "move":
        variables = {"input": {"id": card.id, "stageId": gid("Stage", stages[stage_index])}}
        await _ok(api, manager, MOVE, variables)
        if stage_index != card.stage:
            if card.result == "OPEN":
                card.leave(now)
                card.enter(stage_index, now)
                default = DEFAULT_PROBABILITY[stage_index]
                card.probability = card.probability if default is None else default
            else:  # a closed card changes column without entering the step
                card.stage = stage_index
    elif action == "win" and card.result == "OPEN":
        await _ok(api, manager, WIN, {"input": {"id": card.id, "orderAmount": "10"}})
        card.leave(now)
        card.result, card.probability = "WON", 100
    elif action == "lose" and card.result == "OPEN":
        reason = reason_ids[choice] if choice < len(reason_ids) else None
        variables = {"input": {"id": card.id, "reason": "note", "lossReasonId": reason}}
        await _ok(api, manager, LOSE, variables)
        card.leave(now)
        card.result, card.probability, card.reason = "LOST", 0, reason
    elif action == "reopen" and card.result != "OPEN":
        await _ok(api, manager, REOPEN, {"id": card.id})
        card.enter(card.stage, now)
        card.result, card.reason = "OPEN", None
        card.probability = DEFAULT_PROBABILITY[card.stage] or 0
    elif action == "copy":
        copied = await _ok(
            api, manager, COPY, {"input": {"id": card.id, "campaignId": gid("Campaign", campaign)}}
        )
        copy = Card(
            copied["copyOpportunity"]["id"],
            now,
            0,
            DEFAULT_PROBABILITY[0] or 0,
            card.amount,
            card.closing,
        )
        copy.enter(0, now)
        model.append(copy)
    elif action == "delete":
        await _ok(api, manager, DELETE, {"id": card.id})
        card.deleted = True


async def _ok(api, viewer, document, variables):
    return (await api.execute(document, variables, viewer=viewer)).ok()


def _assert_stats_equal_model(stats, cards, stages, reasons):
    by_result = Counter(card.result for card in cards)
    assert stats["opportunityCount"] == len(cards)
    assert stats["openCount"] == by_result["OPEN"]
    assert stats["wonCount"] == by_result["WON"]
    assert stats["lostCount"] == by_result["LOST"]
    closed = by_result["WON"] + by_result["LOST"]
    assert stats["winRate"] == pytest.approx(by_result["WON"] / closed if closed else None)
    assert Decimal(stats["wonAmount"]) == sum(
        (card.amount or 0 for card in cards if card.result == "WON"), Decimal(0)
    )
    open_cards = [card for card in cards if card.result == "OPEN"]
    assert Decimal(stats["weightedOpenAmount"]) == _weighted(open_cards)

    assert [row["stage"]["id"] for row in stats["stages"]] == [gid("Stage", s) for s in stages]
    for position, row in enumerate(stats["stages"]):
        entered = [card for card in cards if any(s.stage == position for s in card.stays)]
        advanced = [card for card in entered if _advanced(card, position)]
        ended = [
            stay.seconds
            for card in cards
            for stay in card.stays
            if stay.stage == position and stay.seconds is not None
        ]
        lost_here = [c for c in cards if c.result == "LOST" and c.stays[-1].stage == position]
        assert row["entered"] == len(entered), row["stage"]["name"]
        assert row["advanced"] == len(advanced), row["stage"]["name"]
        assert row["conversionRate"] == pytest.approx(
            len(advanced) / len(entered) if entered else None
        )
        assert row["averageSecondsInStage"] == pytest.approx(
            sum(ended) / len(ended) if ended else None
        ), row["stage"]["name"]
        assert row["lostHere"] == len(lost_here), row["stage"]["name"]

    lost = defaultdict(list)
    for card in cards:
        if card.result == "LOST":
            lost[card.reason].append(card)
    order = [*reasons, None]  # in the order they were added, "a note only" last
    expected = [
        (reasons.get(pk), len(lost[pk]), sum((c.amount or 0 for c in lost[pk]), Decimal(0)))
        for pk in order
        if lost[pk]
    ]
    assert [
        (row["reason"] and row["reason"]["name"], row["count"], Decimal(row["amount"]))
        for row in stats["lossReasons"]
    ] == expected

    months = defaultdict(list)
    for card in open_cards:
        if card.closing is not None:
            months[f"{card.closing.astimezone(UTC):%Y-%m}"].append(card)
    assert [
        (row["month"], row["count"], Decimal(row["weightedAmount"])) for row in stats["forecast"]
    ] == [(month, len(months[month]), _weighted(months[month])) for month in sorted(months)]


def _advanced(card: Card, position: int) -> bool:
    """Won, or entered a step of higher position after it first entered this one."""
    first = next(index for index, stay in enumerate(card.stays) if stay.stage == position)
    later = card.stays[first + 1 :]
    return card.result == "WON" or any(stay.stage > position for stay in later)


def _weighted(cards: list[Card]) -> Decimal:
    return sum(((card.amount or Decimal(0)) * card.probability / 100 for card in cards), Decimal(0))


async def test_stats_are_not_found_without_opportunity_access(api):
    # given a campaign with a won card, a participant without OPPORTUNITY_ACCESS and a
    # user from outside
    manager = await make_user(*Permission)
    participant = await make_user()
    outsider = await make_user(Permission.OPPORTUNITY_ACCESS)
    campaign = await make_campaign(manager, participants=[participant])
    stages = await stages_of(campaign)
    card = await make_opportunity(campaign, await make_customer(), stage=stages[0])
    await _ok(api, manager, WIN, {"input": {"id": gid("Opportunity", card), "orderAmount": "1"}})
    query = "query ($id: ID!) { campaign(id: $id) { name stats { wonCount } } }"
    variables = {"id": gid("Campaign", campaign)}
    # when each asks for its figures
    read = {
        who: await api.execute(query, variables, viewer=viewer)
        for who, viewer in (
            ("manager", manager),
            ("participant", participant),
            ("outsider", outsider),
        )
    }
    # then the manager gets them; the participant gets NOT_FOUND, as the outsider does
    # for the campaign itself
    assert read["manager"].ok()["campaign"]["stats"] == {"wonCount": 1}
    assert read["participant"].error_at("campaign", "stats")["extensions"]["code"] == "NOT_FOUND"
    assert read["participant"].data == {"campaign": None}
    assert read["outsider"].error_at("campaign")["extensions"]["code"] == "NOT_FOUND"


async def test_a_window_that_ends_before_it_starts_is_refused(api):
    manager = await make_user(*Permission)
    campaign = await make_campaign(manager)
    query = """
    query ($id: ID!, $from: DateTime, $to: DateTime) {
      campaign(id: $id) { stats(from: $from, to: $to) { opportunityCount } }
    }
    """
    variables = {
        "id": gid("Campaign", campaign),
        "from": "2026-03-02T00:00:00+00:00",
        "to": "2026-03-02T00:59:00+01:00",  # 23:59 on the 1st in UTC
    }
    refused = await api.execute(query, variables, viewer=manager)
    assert refused.error_at("campaign", "stats")["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "to",
    }
