"""The hub's channel lifecycle, with broadcaster's memory backend made slow to subscribe."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from broadcaster import Broadcast
from broadcaster._backends.memory import MemoryBackend

from realtime.hub import Hub
from realtime.shared_task import SharedTask


class ListLog:
    """A log of seqs in a list, as the hub reads any channel's log."""

    batch = 1_000_000  # every row at once

    def __init__(self, rows: list[int] | None = None) -> None:
        self.rows = rows if rows is not None else []

    async def rows_after(self, channel: str, seq: int) -> list[int]:
        return [row for row in self.rows if row > seq]

    @staticmethod
    def seq_of(row: int) -> int:
        return row


@contextlib.asynccontextmanager
async def memory_hub() -> AsyncIterator[tuple[Broadcast, ListLog, Hub]]:
    """A hub on broadcaster's memory backend, over a log in a list."""
    broadcast = Broadcast(backend=MemoryBackend("memory://"))
    await broadcast.connect()
    log = ListLog()
    try:
        yield broadcast, log, Hub(broadcast, log)
    finally:
        await broadcast.disconnect()


async def commit(broadcast: Broadcast, log: ListLog, channel: str, row: int) -> None:
    """`row` is in the log, and its channel is told so."""
    log.rows.append(row)
    await broadcast.publish(channel, str(row))


class SlowToSubscribe(MemoryBackend):
    """Like a Redis round trip: subscribing takes a moment."""

    async def subscribe(self, channel: str) -> None:
        await asyncio.sleep(0.05)
        await super().subscribe(channel)


async def test_a_stream_that_leaves_while_the_channel_subscribes_does_not_strand_the_other():
    # given a broadcast that is slow to subscribe, and a log of rows
    broadcast = Broadcast(backend=SlowToSubscribe("memory://"))
    await broadcast.connect()
    log = ListLog()
    hub = Hub(broadcast, log)
    first_ready = asyncio.Event()

    async def first_stream() -> list[int]:
        async with hub.inbox("campaign:1", start=0) as box:
            first_ready.set()
            await box.wait(5)
            return box.take_all()

    async def second_stream_gives_up() -> None:
        async with hub.inbox("campaign:1", start=0):
            pass

    # when the second stream joins and is cancelled before the subscription is ready
    first = asyncio.create_task(first_stream())
    await asyncio.sleep(0)
    second = asyncio.create_task(second_stream_gives_up())
    await asyncio.sleep(0.01)
    second.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await second
    await asyncio.wait_for(first_ready.wait(), 2)
    log.rows.append(1)
    await broadcast.publish("campaign:1", "1")
    # then the first stream is still served
    assert await asyncio.wait_for(first, 2) == [1]
    await broadcast.disconnect()


async def test_the_channel_unsubscribes_when_its_last_stream_leaves():
    backend = MemoryBackend("memory://")
    broadcast = Broadcast(backend=backend)
    await broadcast.connect()
    hub = Hub(broadcast, ListLog())
    async with hub.inbox("campaign:2", start=0):
        assert "campaign:2" in backend._subscribed
    await asyncio.sleep(0.05)
    assert "campaign:2" not in backend._subscribed
    await broadcast.disconnect()


async def test_a_stream_whose_row_waits_on_a_started_execution_is_woken_once_it_is_done():
    # given a channel with three streams, each waiting on the execution started for its
    # row, and starting it when it finds none (as the subscribers of one group do)
    started: dict[int, SharedTask[None]] = {}
    outcome: dict[int, asyncio.Future[None]] = {}
    woken: list[tuple[str, int]] = []
    ready = asyncio.Barrier(4)
    async with memory_hub() as (broadcast, log, hub):

        async def stream(name: str) -> None:
            async with hub.inbox("campaign:3", start=0, pending=started.get) as box:
                await ready.wait()
                taken: list[int] = []
                while len(taken) < 2:
                    await box.wait()
                    for row in box.take_all():
                        woken.append((name, row))
                        taken.append(row)
                        if row not in started:
                            outcome[row] = asyncio.get_running_loop().create_future()
                            started[row] = SharedTask(outcome[row])

        streams = [asyncio.create_task(stream(name)) for name in ("a", "b", "c")]
        await ready.wait()
        # when a row is committed
        await commit(broadcast, log, "campaign:3", 1)
        await asyncio.sleep(0.05)
        # then one stream is woken, starts the execution, and the others are not woken
        # while it runs,
        assert len(woken) == 1
        assert 1 in started
        # and are once it is done
        outcome[1].set_result(None)
        await asyncio.sleep(0.05)
        assert sorted(name for name, _ in woken) == ["a", "b", "c"]
        # and an execution that fails wakes them too (they execute it themselves)
        await commit(broadcast, log, "campaign:3", 2)
        await asyncio.sleep(0.05)
        assert len(woken) == 4
        outcome[2].set_exception(RuntimeError("the database went away"))
        await asyncio.wait_for(asyncio.gather(*streams), 2)
        assert sorted(woken[3:]) == [("a", 2), ("b", 2), ("c", 2)]


async def test_a_waiting_stream_is_served_its_row_without_being_woken_when_it_can_be():
    # given a stream waiting on its inbox, whose rows wait on an execution, and which
    # can be served a row while it waits (as a live subscriber's frame is sent for it)
    execution: SharedTask[None] = SharedTask(asyncio.sleep(0.01))
    served: list[int] = []
    refuse = {2}
    woken: list[list[int]] = []

    def serve(row: int) -> bool:
        if row in refuse:
            return False
        served.append(row)
        return True

    async with memory_hub() as (broadcast, log, hub):

        async def stream() -> None:
            async with hub.inbox("campaign:4", start=0, pending=lambda row: execution) as box:
                box.serve = serve
                while not woken:
                    await box.wait()
                    woken.append(box.take_all())

        task = asyncio.create_task(stream())
        await asyncio.sleep(0.01)
        # when a row it can be served is committed: it is served, and the stream sleeps on
        await commit(broadcast, log, "campaign:4", 1)
        await asyncio.sleep(0.05)
        assert served == [1]
        assert woken == []
        # and a row it cannot be served wakes it, with that row to pass on itself
        await commit(broadcast, log, "campaign:4", 2)
        await asyncio.wait_for(task, 2)
        assert woken == [[2]]


async def test_new_rows_are_offered_once_the_channels_prepare_is_done_even_when_it_fails():
    # given a channel whose streams' reads must be made before they judge a row
    prepared: list[str] = []
    fail = False

    async def prepare() -> None:
        await asyncio.sleep(0.05)
        prepared.append("read")
        if fail:
            raise ConnectionError("database away")

    async with (
        memory_hub() as (broadcast, log, hub),
        hub.inbox("campaign:1", start=0, prepare=prepare) as box,
        hub.inbox("campaign:1", start=0) as other,
    ):
        # when a row is committed
        await commit(broadcast, log, "campaign:1", 1)
        await box.wait(5)
        # then both streams are offered it after one prepare, made for them all
        assert prepared == ["read"]
        assert box.take_all() == [1]
        assert other.take_all() == [1]
        # and when the prepare fails, the next row is offered all the same
        fail = True
        await commit(broadcast, log, "campaign:1", 2)
        await box.wait(5)
        assert prepared == ["read", "read"]
        assert box.take_all() == [2]


async def test_a_row_offered_to_thousands_of_inboxes_lets_other_work_run_in_between():
    # given 3,000 streams on one channel, each waiting on an execution for its rows
    execution: SharedTask[None] = SharedTask(asyncio.get_running_loop().create_future())
    turns = 0
    offered_at: list[int] = []

    def pending(row: int) -> SharedTask[None]:
        offered_at.append(turns)
        return execution

    async with contextlib.AsyncExitStack() as stack:
        broadcast, log, hub = await stack.enter_async_context(memory_hub())
        boxes = [
            await stack.enter_async_context(hub.inbox("campaign:5", start=0, pending=pending))
            for _ in range(3_000)
        ]

        async def other_work() -> None:  # a request's steps, one per turn of the loop
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(other_work())
        try:
            # when a row is committed
            await commit(broadcast, log, "campaign:5", 1)
            for _ in range(1_000):
                if len(offered_at) == len(boxes):
                    break
                await asyncio.sleep(0)
        finally:
            ticking.cancel()
        # then every inbox is offered it, and other work ran while they were
        assert all(len(box) == 1 for box in boxes)
        assert offered_at[-1] - offered_at[0] >= 2
        execution.task.cancel()


class CountingLog(ListLog):
    """A ListLog that counts its reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def rows_after(self, channel: str, seq: int) -> list[int]:
        self.reads += 1
        return await super().rows_after(channel, seq)


async def test_rows_committed_here_are_offered_at_once_in_order_and_their_signals_read_nothing():
    broadcast = Broadcast(backend=MemoryBackend("memory://"))
    await broadcast.connect()
    log = CountingLog()
    hub = Hub(broadcast, log)
    try:
        async with hub.inbox("campaign:7", start=0) as box:
            await asyncio.sleep(0.01)
            reads = log.reads
            # when this process commits rows 1 and 2 and hands them over, before their
            # signals went out
            log.rows += [1, 2]
            hub.hand_over("campaign:7", 1)
            hub.hand_over("campaign:7", 2)
            await box.wait(1)
            # then the stream is offered both, in order, with no read of the log
            assert box.take_all() == [1, 2]
            assert log.reads == reads
            # and their signals, coming back, read nothing either
            await broadcast.publish("campaign:7", "2")
            await asyncio.sleep(0.05)
            assert log.reads == reads
            assert len(box) == 0
            # when row 4 is handed over while row 3 (another process's) is not signalled
            log.rows += [3, 4]
            hub.hand_over("campaign:7", 4)
            await asyncio.sleep(0.05)
            # then 4 waits: nothing skips a row
            assert len(box) == 0
            # and row 3's signal reads both from the log, in order, once
            await broadcast.publish("campaign:7", "3")
            await box.wait(1)
            await asyncio.sleep(0.05)
            assert box.take_all() == [3, 4]
            assert log.reads == reads + 1
    finally:
        await broadcast.disconnect()
