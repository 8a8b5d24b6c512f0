"""resolvers/shared_reads.py: one read per key however many streams ask, refreshed ahead."""

from __future__ import annotations

import asyncio

import pytest

from resolvers.shared_reads import MISSING, SharedReads


class Reader:
    """Counts reads; each returns the next number, after `delay` seconds."""

    def __init__(self, delay: float = 0.01) -> None:
        self.reads = 0
        self.delay = delay
        self.fail = False

    async def __call__(self) -> int:
        self.reads += 1
        await asyncio.sleep(self.delay)
        if self.fail:
            raise ConnectionError("database away")
        return self.reads


async def test_a_thousand_streams_meeting_a_missing_key_make_one_read():
    reads, read = SharedReads[int](ttl=10), Reader()
    values = await asyncio.gather(*(reads.get("user:1", read) for _ in range(1000)))
    assert read.reads == 1
    assert set(values) == {1}


async def test_a_key_in_use_is_read_again_in_the_background_and_nobody_waits():
    # given a value read with a 0.2 s ttl
    reads, read = SharedReads[int](ttl=0.2), Reader(delay=0.02)
    assert await reads.get("k", read) == 1
    # when it is asked for past half its ttl
    await asyncio.sleep(0.12)
    # then the old value is served at once, while a second read runs
    assert reads.known("k") == 1
    await asyncio.sleep(0)
    assert read.reads == 2
    await asyncio.sleep(0.05)
    # and once that read is in, its value is served, without a third read
    assert reads.known("k") == 2
    assert read.reads == 2


async def test_a_stale_value_is_never_served():
    reads, read = SharedReads[int](ttl=0.05), Reader()
    await reads.get("k", read)
    await asyncio.sleep(0.06)
    assert reads.known("k") is MISSING
    assert await reads.get("k", read) == 2


async def test_an_unusable_value_is_read_again_once_for_all_who_ask():
    # given a value that callers need newer (a membership change at a later seq)
    reads, read = SharedReads[int](ttl=10), Reader()
    await reads.get("k", read)
    # when many ask for a value of at least 2 at once
    values = await asyncio.gather(*(reads.get("k", read, lambda v: v >= 2) for _ in range(50)))
    # then one more read serves them all
    assert set(values) == {2}
    assert read.reads == 2


async def test_a_failed_read_is_not_kept():
    reads, read = SharedReads[int](ttl=10), Reader()
    read.fail = True
    with pytest.raises(ConnectionError):
        await reads.get("k", read)
    assert reads.known("k") is MISSING
    read.fail = False
    assert await reads.get("k", read) == 2


async def test_a_failed_background_read_keeps_the_value_until_it_goes_stale():
    reads, read = SharedReads[int](ttl=0.2), Reader(delay=0.01)
    await reads.get("k", read)
    read.fail = True
    await asyncio.sleep(0.12)
    assert reads.known("k") == 1  # starts the refresh, which fails
    await asyncio.sleep(0.03)
    assert reads.known("k") == 1  # and the next caller starts another
    await asyncio.sleep(0)
    assert read.reads == 3


async def test_while_a_slow_refresh_runs_the_value_is_served_up_to_twice_its_ttl():
    # given a value with a 0.1 s ttl whose refresh takes 0.3 s (a loaded database)
    reads, read = SharedReads[int](ttl=0.1), Reader(delay=0.01)
    await reads.get("k", read)
    read.delay = 0.3
    await asyncio.sleep(0.06)
    assert reads.known("k") == 1  # starts the refresh
    # when the ttl passes with the refresh still running
    await asyncio.sleep(0.08)
    # then the value is still served, without a second refresh
    assert reads.known("k") == 1
    assert read.reads == 2
    # and past twice its ttl it is not
    await asyncio.sleep(0.1)
    assert reads.known("k") is MISSING


class Row:
    """A read's result: a fresh object each time, equal when its content is."""

    def __init__(self, content: str) -> None:
        self.content = content


async def test_a_background_read_of_the_same_content_keeps_the_object_served_and_fresh():
    # given rows compared by content, and a reader whose content changes on the third read
    contents = iter(["a", "a", "b"])

    async def read() -> Row:
        await asyncio.sleep(0.01)
        return Row(next(contents))

    reads = SharedReads[Row](ttl=2.0, same=lambda old, new: old.content == new.content)
    first = await reads.get("k", read)
    # when a background read past half the ttl (t = 1.2 s) finds the same content
    await asyncio.sleep(1.2)
    assert reads.known("k") is first
    await asyncio.sleep(0.9)
    # then at t = 2.1 s, past the first read's ttl, the same object is served: fresh
    assert reads.known("k") is first
    # and once a background read (t = 2.4 s) finds other content, that is served
    await asyncio.sleep(0.3)
    assert reads.known("k") is first
    await asyncio.sleep(0.2)
    served = reads.known("k")
    assert isinstance(served, Row) and served.content == "b"


async def test_a_value_read_again_for_its_age_is_the_same_object_when_its_content_is():
    async def read() -> Row:
        return Row("a")

    reads = SharedReads[Row](ttl=0.05, same=lambda old, new: old.content == new.content)
    first = await reads.get("k", read)
    # when the value has gone stale, and is read again with the same content
    await asyncio.sleep(0.06)
    assert reads.known("k") is MISSING
    again = await reads.get("k", read)
    # then the caller gets the content, and the object served from now on is the first
    assert again.content == "a"
    assert reads.known("k") is first


async def test_a_value_read_again_because_a_caller_could_not_use_it_is_replaced():
    reads_made = 0

    async def read() -> Row:
        nonlocal reads_made
        reads_made += 1
        return Row("a")

    reads = SharedReads[Row](ttl=10, same=lambda old, new: old.content == new.content)
    first = await reads.get("k", read)
    # when a caller cannot use the fresh value (it needs a newer read)
    newer = await reads.get("k", read, usable=lambda row: row is not first)
    # then it gets a new read, and that is what is served, so the next such caller
    # does not read again
    assert newer is not first
    assert reads.known("k") is newer
    assert await reads.get("k", read, usable=lambda row: row is not first) is newer
    assert reads_made == 2
