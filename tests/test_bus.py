"""realtime/bus.py and realtime/after_commit.py: signals go out after commit, coalesced,
and never hold up a write when the broadcast fails (on the memory broadcast)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from broadcaster import Broadcast

from models import EventKind
from realtime.after_commit import publishing_to, signal_after_commit, transaction
from realtime.bus import Bus
from realtime.channels import campaign_channel
from realtime.log import append_event
from tests.factories import make_campaign, make_user


class Recording(Broadcast):
    """The memory broadcast, keeping what was published (and failing when told to)."""

    def __init__(self) -> None:
        super().__init__("memory://")
        self.published: list[tuple[str, str]] = []
        self.failing = False
        self.sent = asyncio.Event()

    async def publish(self, channel: str, message: object) -> None:
        if self.failing:
            raise ConnectionError("broadcast away")
        self.published.append((channel, str(message)))
        self.sent.set()


@pytest.fixture
async def broadcast_bus():
    broadcast = Recording()
    await broadcast.connect()
    bus = Bus(broadcast)
    bus.start()
    yield broadcast, bus
    await bus.stop()
    await broadcast.disconnect()


async def test_signals_of_one_channel_are_coalesced_to_the_newest_seq(broadcast_bus):
    broadcast, bus = broadcast_bus
    for seq in (3, 5, 4):
        bus.publish_soon("campaign:1", seq)
    bus.publish_soon("campaign:2", 1)
    await asyncio.wait_for(broadcast.sent.wait(), 2)
    await asyncio.sleep(0.05)
    assert sorted(broadcast.published) == [("campaign:1", "5"), ("campaign:2", "1")]


async def test_a_failing_broadcast_is_logged_and_the_bus_goes_on(broadcast_bus, caplog):
    broadcast, bus = broadcast_bus
    broadcast.failing = True
    with caplog.at_level(logging.WARNING, "funnelgraph.realtime"):
        bus.publish_soon("campaign:1", 1)
        await asyncio.sleep(0.05)
    assert "publishing on campaign:1 failed" in caplog.text
    broadcast.failing = False
    bus.publish_soon("campaign:1", 2)
    await asyncio.wait_for(broadcast.sent.wait(), 2)
    assert broadcast.published == [("campaign:1", "2")]


async def test_stop_flushes_what_is_pending(broadcast_bus):
    broadcast, bus = broadcast_bus
    bus.publish_soon("campaign:9", 7)
    await bus.stop()
    assert broadcast.published == [("campaign:9", "7")]


async def test_a_committed_write_signals_after_commit_on_the_operations_bus(app, broadcast_bus):
    broadcast, bus = broadcast_bus
    campaign = await make_campaign(await make_user())
    channel = campaign_channel(campaign.pk)
    with publishing_to(bus):
        async with transaction():
            event = await append_event(campaign, EventKind.CAMPAIGN_UPDATED, None)
            signal_after_commit(channel, event.seq)
            await asyncio.sleep(0.05)
            assert broadcast.published == []  # nothing before the commit
    await asyncio.wait_for(broadcast.sent.wait(), 2)
    assert broadcast.published == [(channel, str(event.seq))]


async def test_a_rolled_back_write_signals_nothing(app, broadcast_bus):
    broadcast, bus = broadcast_bus
    campaign = await make_campaign(await make_user())

    async def failing_write() -> None:
        async with transaction():
            event = await append_event(campaign, EventKind.CAMPAIGN_UPDATED, None)
            signal_after_commit(campaign_channel(campaign.pk), event.seq)
            raise RuntimeError("the write fails")

    with publishing_to(bus), pytest.raises(RuntimeError):
        await failing_write()
    await asyncio.sleep(0.1)
    assert broadcast.published == []


async def test_outside_any_operation_a_commit_signals_nowhere(app, broadcast_bus):
    broadcast, _ = broadcast_bus
    campaign = await make_campaign(await make_user())
    async with transaction():
        event = await append_event(campaign, EventKind.CAMPAIGN_UPDATED, None)
        signal_after_commit(campaign_channel(campaign.pk), event.seq)
    await asyncio.sleep(0.1)
    assert broadcast.published == []


def test_signalling_outside_a_transaction_is_a_programming_error():
    with pytest.raises(RuntimeError, match=r"after_commit\.transaction"):
        signal_after_commit("campaign:1", 1)
