"""server/collector.py: what survives a full collection is frozen (later ones do not
walk it), and cycles among frozen objects are freed at the next rebase."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from server import collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    """Two objects that refer to each other, and a way to tell when they are freed."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture
def tuned():
    thresholds = gc.get_threshold()
    with collector.tuned_collector():
        yield
    gc.set_threshold(*thresholds)


async def test_survivors_of_a_full_collection_are_not_walked_again_until_the_rebase(
    tuned, monkeypatch
):
    # given a cycle that is alive through a full collection
    monkeypatch.setattr(collector, "REBASE_SECONDS", 3600.0)
    held = Node()
    held.other = Node()
    held.other.other = held
    alive = weakref.ref(held)
    gc.collect()
    assert gc.get_referrers(held)  # frozen only once the code that collected is done,
    await asyncio.sleep(0)  # at the event loop's next turn
    # then it is frozen: the next full collection does not walk it
    assert gc.get_freeze_count() > 0
    del held
    gc.collect()
    assert alive() is not None  # garbage now, but frozen: it waits for the rebase
    # and a cycle made after that collection is freed as before
    young = cycle()
    gc.collect()
    assert young() is None
    # when the rebase is due, the next full collection walks everything and frees it
    monkeypatch.setattr(collector, "REBASE_SECONDS", 0.0)
    gc.collect()
    assert alive() is None


async def test_survivors_of_a_long_young_collection_are_frozen_and_a_short_one_freezes_nothing(
    tuned, monkeypatch
):
    # given objects alive through a young collection that was short
    held = Node()
    held.other = Node()
    frozen_before = gc.get_freeze_count()
    gc.collect(1)
    await asyncio.sleep(0)
    # then nothing was frozen: the next full collection still walks them
    assert gc.get_freeze_count() == frozen_before
    assert gc.get_referrers(held.other) == [held]
    # when a young collection takes LONG_YOUNG_SECONDS (here: any does)
    monkeypatch.setattr(collector, "LONG_YOUNG_SECONDS", 0.0)
    gc.collect(1)
    await asyncio.sleep(0)
    # then its survivors are frozen: a collection no longer sees them
    assert gc.get_freeze_count() > frozen_before
    assert gc.get_referrers(held.other) == []


async def test_cycles_among_frozen_objects_are_freed_soon_once_most_of_them_are_freed(
    tuned, monkeypatch
):
    # given many objects frozen while alive (as sockets are), a few of them in a cycle
    monkeypatch.setattr(collector, "REBASE_SECONDS", 3600.0)
    monkeypatch.setattr(collector, "FREED_REBASE_SECONDS", 0.0)
    monkeypatch.setattr(collector, "FREED_CHECK_SECONDS", 0.01)
    sockets = [[Node() for _ in range(50)] for _ in range(4_000)]
    held = Node()
    held.other = Node()
    held.other.other = held
    closed = weakref.ref(held)
    gc.collect()
    await asyncio.sleep(0)  # frozen at the loop's next turn
    # when a few are freed, the cycle among them waits in the frozen set
    del sockets[:100], held
    await asyncio.sleep(0.05)
    assert closed() is not None
    # and when most of them are freed (the sockets closed), the cycle is freed soon,
    # with no collection set off by anything else and before REBASE_SECONDS
    del sockets[:]
    for _ in range(100):
        if closed() is None:
            break
        await asyncio.sleep(0.01)
    assert closed() is None
