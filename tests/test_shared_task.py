"""realtime/shared_task.py: a task many streams wait on, and what runs once it is done."""

from __future__ import annotations

import asyncio

from realtime import shared_task
from realtime.shared_task import SharedTask


async def test_ten_thousand_callbacks_run_once_each_in_order_and_let_other_work_in_between():
    # given 10,000 streams waiting on one live event's execution (each sends its frame
    # once it is done), and a request that becomes ready as soon as the first is sent
    release = asyncio.get_running_loop().create_future()

    async def execute() -> str:
        await release
        return "payload"

    execution: SharedTask[str] = SharedTask(execute())
    sent: list[int] = []
    request_answered_after: list[int] = []

    def request() -> None:
        request_answered_after.append(len(sent))

    def send(index: int) -> None:
        if index == 0:
            asyncio.get_running_loop().call_soon(request)
        sent.append(index)

    for index in range(10_000):
        execution.then(lambda index=index: send(index))
    # when the execution finishes
    release.set_result(None)
    assert await execution.result() == "payload"
    for _ in range(100):
        if len(sent) == 10_000:
            break
        await asyncio.sleep(0)
    # then every frame is sent once, in the order the streams came
    assert sent == list(range(10_000))
    # and the request ran after the first slice of frames, not after all of them
    assert request_answered_after == [shared_task.THEN_SLICE]


async def test_a_callback_added_once_the_task_is_done_runs_at_once():
    execution: SharedTask[int] = SharedTask(asyncio.sleep(0, result=7))
    assert await execution.result() == 7
    called: list[bool] = []
    execution.then(lambda: called.append(True))
    assert called == [True]
