"""A campaign's approach steps: addStage, updateStage, removeStage and their guards."""

from __future__ import annotations

import pytest

from models import Opportunity, Permission, Stage, StageChange
from resolvers.ids import encode_id
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)

ADD_STAGE = """
mutation AddStage($input: AddStageInput!) {
  addStage(input: $input) { id name position probability }
}
"""
UPDATE_STAGE = """
mutation UpdateStage($input: UpdateStageInput!) {
  updateStage(input: $input) { id name position probability }
}
"""
REMOVE_STAGE = """
mutation RemoveStage($input: RemoveStageInput!) {
  removeStage(input: $input) { id stages { id name position } }
}
"""
BOARD = """
query Board($id: ID!) {
  campaign(id: $id) { stages { name position probability opportunityCount } }
}
"""


async def board(api, campaign, viewer) -> list[tuple[str, int]]:
    """The campaign's columns as the manager's client shows them: (name, position)."""
    result = await api.execute(BOARD, {"id": gid("Campaign", campaign)}, viewer=viewer)
    return [(stage["name"], stage["position"]) for stage in result.ok()["campaign"]["stages"]]


async def cards_in(stage: Stage) -> list[int]:
    """Opportunity pks of a column in board order (rank compared as bytes)."""
    rows = await Opportunity.filter(stage_id=stage.pk).order_by("rank")
    return [row.pk for row in rows]


# addStage


async def test_add_stage_appends_it_last_by_default(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["New", "Won"])
    # when
    result = await api.execute(
        ADD_STAGE,
        {"input": {"campaignId": gid("Campaign", campaign), "name": "Lost", "probability": 0}},
        viewer=manager,
    )
    # then
    added = result.ok()["addStage"]
    assert (added["name"], added["position"], added["probability"]) == ("Lost", 2, 0)
    assert await board(api, campaign, manager) == [("New", 0), ("Won", 1), ("Lost", 2)]


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (0, [("Call", 0), ("New", 1), ("Meet", 2), ("Won", 3)]),
        (1, [("New", 0), ("Call", 1), ("Meet", 2), ("Won", 3)]),
        (3, [("New", 0), ("Meet", 1), ("Won", 2), ("Call", 3)]),
    ],
)
async def test_add_stage_at_a_position_shifts_the_later_stages(api, position, expected):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["New", "Meet", "Won"])
    # when
    result = await api.execute(
        ADD_STAGE,
        {"input": {"campaignId": gid("Campaign", campaign), "name": "Call", "position": position}},
        viewer=manager,
    )
    # then
    assert result.ok()["addStage"]["position"] == position
    assert await board(api, campaign, manager) == expected


async def test_add_stage_is_refused_at_a_position_past_the_end(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["New", "Won"])
    # when
    result = await api.execute(
        ADD_STAGE,
        {"input": {"campaignId": gid("Campaign", campaign), "name": "Call", "position": 3}},
        viewer=manager,
    )
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert await board(api, campaign, manager) == [("New", 0), ("Won", 1)]


async def test_add_stage_is_refused_when_probability_is_out_of_range(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["New"])
    # when
    result = await api.execute(
        ADD_STAGE,
        {"input": {"campaignId": gid("Campaign", campaign), "name": "Sure", "probability": 101}},
        viewer=manager,
    )
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert await board(api, campaign, manager) == [("New", 0)]


# updateStage


async def test_update_stage_renames_it_and_sets_its_probability(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["New", "Won"])
    new, _ = await stages_of(campaign)
    # when
    result = await api.execute(
        UPDATE_STAGE,
        {"input": {"id": gid("Stage", new), "name": "Lead", "probability": 10}},
        viewer=manager,
    )
    # then
    assert result.ok()["updateStage"] == {
        "id": gid("Stage", new),
        "name": "Lead",
        "position": 0,
        "probability": 10,
    }
    assert await board(api, campaign, manager) == [("Lead", 0), ("Won", 1)]


@pytest.mark.parametrize("probability", [0, 100])
async def test_update_stage_accepts_probability_at_the_bounds(api, probability):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["New"])
    (stage,) = await stages_of(campaign)
    # when
    result = await api.execute(
        UPDATE_STAGE,
        {"input": {"id": gid("Stage", stage), "probability": probability}},
        viewer=manager,
    )
    # then
    assert result.ok()["updateStage"]["probability"] == probability


@pytest.mark.parametrize("probability", [-1, 101])
async def test_update_stage_is_refused_when_probability_is_out_of_range(api, probability):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["New"])
    (stage,) = await stages_of(campaign)
    await Stage.filter(id=stage.pk).update(probability=20)
    # when
    result = await api.execute(
        UPDATE_STAGE,
        {"input": {"id": gid("Stage", stage), "name": "Renamed", "probability": probability}},
        viewer=manager,
    )
    # then nothing changes, not even the name
    assert result.codes == ["BAD_USER_INPUT"]
    assert "probability" in result.errors[0]["message"]
    stored = await Stage.get(id=stage.pk)
    assert (stored.name, stored.probability) == ("New", 20)


async def test_update_stage_leaves_fields_out_unchanged(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["New", "Won"])
    _, won = await stages_of(campaign)
    await Stage.filter(id=won.pk).update(probability=90)
    # when
    result = await api.execute(
        UPDATE_STAGE, {"input": {"id": gid("Stage", won), "name": "Closed"}}, viewer=manager
    )
    # then
    assert result.ok()["updateStage"] == {
        "id": gid("Stage", won),
        "name": "Closed",
        "position": 1,
        "probability": 90,
    }


@pytest.mark.parametrize(
    ("moved", "position", "expected"),
    [
        ("A", 3, ["B", "C", "D", "A"]),
        ("D", 0, ["D", "A", "B", "C"]),
        ("B", 2, ["A", "C", "B", "D"]),
        ("C", 1, ["A", "C", "B", "D"]),
        ("B", 1, ["A", "B", "C", "D"]),
    ],
)
async def test_update_stage_reorder_keeps_positions_contiguous(api, moved, position, expected):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["A", "B", "C", "D"])
    stage = next(stage for stage in await stages_of(campaign) if stage.name == moved)
    # when
    result = await api.execute(
        UPDATE_STAGE, {"input": {"id": gid("Stage", stage), "position": position}}, viewer=manager
    )
    # then
    assert result.ok()["updateStage"]["position"] == position
    assert await board(api, campaign, manager) == [
        (name, index) for index, name in enumerate(expected)
    ]


async def test_update_stage_is_refused_at_a_position_past_the_end(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["A", "B"])
    first, _ = await stages_of(campaign)
    # when
    result = await api.execute(
        UPDATE_STAGE, {"input": {"id": gid("Stage", first), "position": 2}}, viewer=manager
    )
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert await board(api, campaign, manager) == [("A", 0), ("B", 1)]


# removeStage


async def test_remove_stage_without_opportunities_renumbers_the_rest(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["A", "B", "C"])
    _, b, _ = await stages_of(campaign)
    # when
    result = await api.execute(REMOVE_STAGE, {"input": {"id": gid("Stage", b)}}, viewer=manager)
    # then
    removed = result.ok()["removeStage"]
    assert removed["id"] == gid("Campaign", campaign)
    assert [(stage["name"], stage["position"]) for stage in removed["stages"]] == [
        ("A", 0),
        ("C", 1),
    ]
    assert not await Stage.exists(id=b.pk, removed_at__isnull=True)


async def test_remove_stage_is_refused_while_it_holds_opportunities_without_a_target(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["A", "B", "C"])
    _, b, _ = await stages_of(campaign)
    card = await make_opportunity(campaign, await make_customer(), stage=b)
    # when
    result = await api.execute(REMOVE_STAGE, {"input": {"id": gid("Stage", b)}}, viewer=manager)
    # then nothing changes
    assert result.codes == ["BAD_USER_INPUT"]
    assert "moveOpportunitiesToStageId" in result.errors[0]["message"]
    assert await board(api, campaign, manager) == [("A", 0), ("B", 1), ("C", 2)]
    assert (await Opportunity.get(id=card.pk)).stage_id == b.pk


async def test_remove_stage_is_refused_when_the_target_is_itself_or_of_another_campaign(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["A", "B"])
    other = await make_campaign(manager, stages=["X"])
    a, _ = await stages_of(campaign)
    (x,) = await stages_of(other)
    await make_opportunity(campaign, await make_customer(), stage=a)
    for target in (a, x):
        # when
        result = await api.execute(
            REMOVE_STAGE,
            {"input": {"id": gid("Stage", a), "moveOpportunitiesToStageId": gid("Stage", target)}},
            viewer=manager,
        )
        # then
        assert result.codes == ["BAD_USER_INPUT"]
    assert await board(api, campaign, manager) == [("A", 0), ("B", 1)]


async def test_remove_stage_with_a_target_appends_its_cards_after_the_targets_cards(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["A", "B", "C"])
    a, b, c = await stages_of(campaign)
    kept = [await make_opportunity(campaign, await make_customer(), stage=c) for _ in range(2)]
    moved = [await make_opportunity(campaign, await make_customer(), stage=b) for _ in range(3)]
    moved_order = await cards_in(b)
    # when
    result = await api.execute(
        REMOVE_STAGE,
        {"input": {"id": gid("Stage", b), "moveOpportunitiesToStageId": gid("Stage", c)}},
        viewer=manager,
    )
    # then
    assert [stage["name"] for stage in result.ok()["removeStage"]["stages"]] == ["A", "C"]
    assert await board(api, campaign, manager) == [("A", 0), ("C", 1)]
    assert await cards_in(c) == [card.pk for card in kept] + moved_order
    assert moved_order == [card.pk for card in moved]
    assert await cards_in(a) == []


async def test_remove_stage_records_each_move_in_the_stage_history(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["A", "B"])
    a, b = await stages_of(campaign)
    cards = [await make_opportunity(campaign, await make_customer(), stage=a) for _ in range(2)]
    # when
    result = await api.execute(
        REMOVE_STAGE,
        {"input": {"id": gid("Stage", a), "moveOpportunitiesToStageId": gid("Stage", b)}},
        viewer=manager,
    )
    # then each card has its first placement and then one move to B by the manager
    result.ok()
    for card in cards:
        history = await StageChange.filter(opportunity_id=card.pk).order_by("id")
        assert len(history) == 2
        assert (history[1].to_stage_id, history[1].actor_id) == (b.pk, manager.pk)
        stored = await Opportunity.get(id=card.pk)
        assert stored.stage_id == b.pk
        assert stored.version == card.version + 1


async def test_remove_stage_is_refused_for_the_last_stage(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["Only"])
    (only,) = await stages_of(campaign)
    # when
    result = await api.execute(REMOVE_STAGE, {"input": {"id": gid("Stage", only)}}, viewer=manager)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert await board(api, campaign, manager) == [("Only", 0)]


# Guards


async def test_stage_mutations_succeed_for_a_campaign_edit_participant(api):
    # given
    editor = await make_user(Permission.CAMPAIGN_EDIT)
    campaign = await make_campaign(await make_user(), participants=[editor], stages=["A", "B"])
    a, b = await stages_of(campaign)
    # when
    added = await api.execute(
        ADD_STAGE,
        {"input": {"campaignId": gid("Campaign", campaign), "name": "C"}},
        viewer=editor,
    )
    updated = await api.execute(
        UPDATE_STAGE, {"input": {"id": gid("Stage", a), "name": "A2"}}, viewer=editor
    )
    removed = await api.execute(REMOVE_STAGE, {"input": {"id": gid("Stage", b)}}, viewer=editor)
    # then
    added.ok()
    updated.ok()
    removed.ok()
    assert await board(api, campaign, editor) == [("A2", 0), ("C", 1)]


async def test_stage_mutations_are_forbidden_for_a_participant_without_campaign_edit(api):
    # given
    participant = await make_user(Permission.CAMPAIGN_CREATE, Permission.VIEW_ALL)
    campaign = await make_campaign(await make_user(), participants=[participant], stages=["A", "B"])
    a, b = await stages_of(campaign)
    # when
    added = await api.execute(
        ADD_STAGE,
        {"input": {"campaignId": gid("Campaign", campaign), "name": "C"}},
        viewer=participant,
    )
    updated = await api.execute(
        UPDATE_STAGE, {"input": {"id": gid("Stage", a), "name": "A2"}}, viewer=participant
    )
    removed = await api.execute(
        REMOVE_STAGE, {"input": {"id": gid("Stage", b)}}, viewer=participant
    )
    # then
    assert added.codes == updated.codes == removed.codes == ["FORBIDDEN"]
    assert await board(api, campaign, participant) == [("A", 0), ("B", 1)]


async def test_stage_mutations_are_not_found_when_the_campaign_is_invisible(api):
    # given an editor who neither manages nor takes part in the campaign
    outsider = await make_user(Permission.CAMPAIGN_EDIT)
    manager = await make_user()
    campaign = await make_campaign(manager, stages=["A", "B"])
    a, b = await stages_of(campaign)
    # when
    added = await api.execute(
        ADD_STAGE,
        {"input": {"campaignId": gid("Campaign", campaign), "name": "C"}},
        viewer=outsider,
    )
    updated = await api.execute(
        UPDATE_STAGE, {"input": {"id": gid("Stage", a), "name": "A2"}}, viewer=outsider
    )
    removed = await api.execute(REMOVE_STAGE, {"input": {"id": gid("Stage", b)}}, viewer=outsider)
    missing = await api.execute(
        UPDATE_STAGE,
        {"input": {"id": encode_id("Stage", b.pk + 1000), "name": "A2"}},
        viewer=outsider,
    )
    # then it answers like a stage that does not exist
    assert added.codes == updated.codes == removed.codes == missing.codes == ["NOT_FOUND"]
    assert await board(api, campaign, manager) == [("A", 0), ("B", 1)]


HISTORY = """
query($id: ID!) { opportunity(id: $id) { stage { name } stageHistory { toStage { name } } } }
"""


async def test_stage_history_still_reads_after_its_stage_is_removed(api):
    # given a card placed in A, whose column is then removed into B
    manager = await make_user(Permission.OPPORTUNITY_ACCESS)
    campaign = await make_campaign(manager, stages=["A", "B"])
    a, b = await stages_of(campaign)
    card = await make_opportunity(campaign, await make_customer(), stage=a)
    removed = await api.execute(
        REMOVE_STAGE,
        {"input": {"id": gid("Stage", a), "moveOpportunitiesToStageId": gid("Stage", b)}},
        viewer=manager,
    )
    removed.ok()
    # when the card's history is read
    result = await api.execute(HISTORY, {"id": gid("Opportunity", card)}, viewer=manager)
    # then it names both steps, the removed one included
    opportunity = result.ok()["opportunity"]
    assert opportunity["stage"]["name"] == "B"
    assert [row["toStage"]["name"] for row in opportunity["stageHistory"]] == ["A", "B"]
