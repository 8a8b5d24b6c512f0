"""realtime/operation_budget.py on a Redis of the test's own: requests under half their
cap never wait on Redis, and the cap holds across processes and within one."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from realtime.channels import DEFAULT_REDIS_PREFIX
from realtime.limit_store import open_limit_store
from realtime.operation_budget import OperationBudget
from tests.live import free_port, redis_server

pytestmark = pytest.mark.postgres_only  # a Redis test; the SQLite run has no Redis

SECOND = 1_900_000_000.0

KEYS = f"{DEFAULT_REDIS_PREFIX}limit:"  # where the limit store keeps its counts


def frozen() -> float:
    return SECOND  # one window for the whole test, whenever the wall clock ticks


def finished_at_once(admission: object) -> bool:
    """Whether the coroutine returned without suspending once (no await on Redis)."""
    try:
        admission.send(None)  # type: ignore[attr-defined]
    except StopIteration as done:
        return bool(done.value)
    admission.close()  # type: ignore[attr-defined]
    return False


async def test_under_half_the_cap_no_request_waits_and_redis_counts_them_soon_after():
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            budget = OperationBudget(store, clock=frozen)
            # when 24 operations of a user allowed 50 a second arrive
            at_once = [finished_at_once(budget.admit("user:1", 50)) for _ in range(24)]
            await budget.flushed()
            # then none waited, and the shared count has them all
            assert at_once == [True] * 24
            client = Redis.from_url(redis.url)
            try:
                assert int(await client.get(f"{KEYS}ops:user:1:{int(SECOND)}")) == 24
            finally:
                await client.aclose()


async def test_a_steady_stream_is_counted_in_a_few_batches_not_a_round_trip_each():
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            batches: list[int] = []

            class Counted:  # the real store, its calls counted
                async def add(self, counts: dict[str, int], window: int) -> dict[str, int]:
                    batches.append(sum(counts.values()))
                    return await store.add(counts, window)

            budget = OperationBudget(Counted(), clock=frozen, batch_seconds=0.05)
            # when 100 operations arrive a millisecond or so apart
            for _ in range(100):
                assert await budget.admit("user:4", 1000)
                await asyncio.sleep(0.001)
            await budget.flushed()
            # then Redis has them all, counted in batches of the period's operations
            client = Redis.from_url(redis.url)
            try:
                assert int(await client.get(f"{KEYS}ops:user:4:{int(SECOND)}")) == 100
            finally:
                await client.aclose()
            assert sum(batches) == 100
            assert len(batches) <= 10, batches


@pytest.mark.parametrize(("processes", "cap"), [(2, 4), (3, 10), (4, 1)])
async def test_alternating_processes_admit_exactly_the_cap(processes, cap):
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            budgets = [OperationBudget(store, clock=frozen) for _ in range(processes)]
            # when one user's requests go round the processes, one after the other
            admitted = []
            for n in range(3 * cap + processes):
                budget = budgets[n % processes]
                admitted.append(await budget.admit("user:7", cap))
                await budget.flushed()
            # then the first `cap` pass, wherever they landed, and no other
            assert admitted == [True] * cap + [False] * (len(admitted) - cap)


async def test_a_burst_in_one_process_admits_exactly_the_cap():
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            budget = OperationBudget(store, clock=frozen)
            admitted = await asyncio.gather(*(budget.admit("user:3", 50) for _ in range(300)))
            assert sum(admitted) == 50


async def test_other_subjects_and_the_next_second_start_from_nothing():
    clock = [SECOND]
    with redis_server() as redis:
        async with open_limit_store(redis.url) as store:
            budget = OperationBudget(store, clock=lambda: clock[0])
            assert [await budget.admit("user:1", 2) for _ in range(3)] == [True, True, False]
            assert await budget.admit("user:2", 2)
            clock[0] += 1
            assert await budget.admit("user:1", 2)


async def test_with_redis_out_of_reach_each_process_holds_the_cap_itself():
    async with open_limit_store(f"redis://127.0.0.1:{free_port()}/0") as store:
        budget = OperationBudget(store, clock=frozen)
        admitted = [await budget.admit("user:1", 4) for _ in range(10)]
        assert admitted == [True] * 4 + [False] * 6
