"""resolvers/event_rows.py: the rows of one live event are read once for all its groups."""

from __future__ import annotations

import asyncio

import pytest

from resolvers.event_rows import EventRows


class Table:
    """A batch load function that counts its calls and the keys it was asked."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.fail = fail

    async def load(self, keys: list[int]) -> list[str]:
        self.calls.append(keys)
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionError("database away")
        return [f"row {key}" for key in keys]


async def test_groups_executing_one_event_at_once_read_each_row_once():
    # given one event's rows, and six groups' loaders reading overlapping keys at once
    rows, table = EventRows(), Table()
    load = rows.sharing("card_by_id", table.load)
    asked = [[1, 2], [2, 1], [1], [2, 3], [3], [1, 2, 3]]
    # when they all load
    answers = await asyncio.gather(*(load(keys) for keys in asked))
    # then each answer is right, and each key was read once
    assert answers == [[f"row {key}" for key in keys] for keys in asked]
    assert sorted(key for call in table.calls for key in call) == [1, 2, 3]


async def test_a_later_group_reads_nothing_again():
    rows, table = EventRows(), Table()
    await rows.sharing("card_by_id", table.load)([1])
    assert await rows.sharing("card_by_id", table.load)([1]) == ["row 1"]
    assert table.calls == [[1]]


async def test_loaders_of_different_names_do_not_share():
    rows, cards, stages = EventRows(), Table(), Table()
    await rows.sharing("card_by_id", cards.load)([1])
    await rows.sharing("stage_by_id", stages.load)([1])
    assert cards.calls == [[1]]
    assert stages.calls == [[1]]


async def test_a_failed_read_is_read_again_by_the_next_group():
    rows, table = EventRows(), Table(fail=True)
    with pytest.raises(ConnectionError):
        await rows.sharing("card_by_id", table.load)([1])
    table.fail = False
    assert await rows.sharing("card_by_id", table.load)([1]) == ["row 1"]
    assert table.calls == [[1], [1]]
