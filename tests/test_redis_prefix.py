"""Two deployments sharing one Redis database keep apart by REDIS_PREFIX: neither counts
the other's rate limits nor hears the other's events; one deployment's processes, with
the same prefix, share both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from broadcaster import Broadcast
from redis.asyncio import Redis

from realtime.redis_backend import RedisBackend
from server.app import create_app
from server.settings import Environment, Limits
from tests.conftest import make_settings
from tests.graphql import GraphQLClient
from tests.live import redis_server

pytestmark = pytest.mark.postgres_only  # a Redis test; the SQLite run has no Redis

LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
LIMITS = Limits(
    login_failures_per_email=2, login_failures_per_address=1000, operations_per_second=100_000
)


@asynccontextmanager
async def deployment(
    database_url: str, redis_url: str, prefix: str
) -> AsyncIterator[GraphQLClient]:
    settings = make_settings(
        database_url,
        redis_url=redis_url,
        redis_prefix=prefix,
        environment=Environment.PRODUCTION,
        limits=LIMITS,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http, settings)


async def failed_login(api: GraphQLClient) -> list[str]:
    result = await api.execute(LOGIN, {"e": "someone@example.com", "p": "a wrong guess"})
    return result.codes


async def test_rate_limits_are_shared_within_a_prefix_and_not_across_prefixes(app, database_url):
    with redis_server() as redis:
        async with AsyncExitStack() as stack:
            # given two processes of deployment "eu:" and one of deployment "us:"
            eu_one, eu_two, us = [
                await stack.enter_async_context(deployment(database_url, redis.url, prefix))
                for prefix in ("eu:", "eu:", "us:")
            ]
            # when an email fails its two logins on one "eu:" process
            assert await failed_login(eu_one) == ["UNAUTHENTICATED"]
            assert await failed_login(eu_one) == ["UNAUTHENTICATED"]
            # then the other "eu:" process refuses the next, and "us:" still checks it
            assert await failed_login(eu_two) == ["RATE_LIMITED"]
            assert await failed_login(us) == ["UNAUTHENTICATED"]
        # and every key either wrote is under its own prefix
        client = Redis.from_url(redis.url)
        try:
            keys = sorted(key.decode() for key in await client.keys("*"))
        finally:
            await client.aclose()
    assert keys, "the limits were counted in Redis"
    assert all(key.startswith(("eu:limit:", "us:limit:")) for key in keys), keys
    assert any(key.startswith("us:limit:login:") for key in keys), keys


async def test_events_are_heard_within_a_prefix_and_not_across_prefixes():
    with redis_server() as redis:
        async with AsyncExitStack() as stack:
            broadcasts = {}
            for name, prefix in (("eu writer", "eu:"), ("eu reader", "eu:"), ("us", "us:")):
                broadcast = Broadcast(backend=RedisBackend(redis.url, prefix))
                await broadcast.connect()
                stack.push_async_callback(broadcast.disconnect)
                broadcasts[name] = broadcast
            eu = await stack.enter_async_context(broadcasts["eu reader"].subscribe("campaign:1"))
            us = await stack.enter_async_context(broadcasts["us"].subscribe("campaign:1"))
            # when the "eu:" writer signals campaign 1's row 7
            await broadcasts["eu writer"].publish("campaign:1", "7")
            # then the "eu:" reader hears it on the channel it knows, and "us:" hears nothing
            heard = await asyncio.wait_for(eu.get(), 5)
            assert (heard.channel, heard.message) == ("campaign:1", "7")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(us.get(), 0.5)
