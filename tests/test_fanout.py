"""Fan-out inside one process: a slow stream stays bounded and never slows the others."""

from __future__ import annotations

import asyncio
import time

import pytest

from realtime.after_commit import publishing_to
from realtime.channels import campaign_channel
from realtime.hub import DEFAULT_INBOX_SIZE
from resolvers import chat, subscriptions
from resolvers.context import Context
from server.auth import JwtTokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_campaign, make_user
from tests.live import redis_server

pytestmark = pytest.mark.postgres_only
MESSAGES = DEFAULT_INBOX_SIZE * 3


@pytest.fixture
def redis():
    with redis_server() as server:
        yield server


@pytest.fixture
def settings(database_url, redis):
    return make_settings(database_url, redis_url=redis.url)


async def test_slow_stream_stays_bounded_others_keep_pace_and_it_resumes_from_the_log(bus):
    # given a fast and a slow stream on one campaign, over Redis
    manager = await make_user()
    campaign = await make_campaign(manager)
    tokens = JwtTokens(TEST_SECRET, 3600)
    fast = subscriptions.campaign_events(Context(manager, tokens, bus=bus), campaign, None, None)
    slow = subscriptions.campaign_events(Context(manager, tokens, bus=bus), campaign, None, None)
    fast_seen: list[int] = []
    got_all = asyncio.Event()

    async def read_fast() -> None:
        async for event in fast:
            fast_seen.append(event.seq)
            if len(fast_seen) == MESSAGES:
                got_all.set()

    reader = asyncio.create_task(read_fast())
    first_slow = asyncio.create_task(anext(slow))
    await asyncio.sleep(0.5)
    channel = bus.hub._channels[campaign_channel(campaign.pk)]
    largest = 0
    # when many events are written while the slow stream never reads
    for number in range(MESSAGES):
        with publishing_to(bus):
            await chat.post_message(campaign, manager, f"message {number}")
        largest = max(largest, *(len(box) for box in channel.inboxes))
    finished_writing = time.monotonic()
    await asyncio.wait_for(got_all.wait(), 10)
    fast_lag = time.monotonic() - finished_writing
    # then the slow inbox never held more than its bound, the fast one got everything
    assert largest <= DEFAULT_INBOX_SIZE
    assert fast_seen == list(range(1, MESSAGES + 1))
    assert fast_lag < 3.0
    # and the slow stream, reading again, gets every event in order from the log
    slow_seen = [(await first_slow).seq]
    while len(slow_seen) < MESSAGES:
        slow_seen.append((await asyncio.wait_for(anext(slow), 10)).seq)
    assert slow_seen == list(range(1, MESSAGES + 1))
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    await slow.aclose()
