"""Websocket limits on real uvicorn processes and a real websocket client: the Origin
allowlist at the handshake, operations per connection and connections per user."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.conftest import TEST_SECRET
from tests.factories import gid, make_campaign, make_user
from tests.live import LiveClient, redis_server, serving, wait_for_a_fresh_second
from tests.test_live import CHAT, token_for

OWN_APP = "https://crm.example.com"


def env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "FUNNELGRAPH_ENV": "production",
        "ALLOWED_ORIGINS": OWN_APP,
        **extra,
    }


async def handshake_status(base: str, **headers: str) -> int:
    """101 when the socket opens, else the HTTP status the handshake was refused with."""
    url = base.replace("http://", "ws://") + "/graphql"
    try:
        async with websockets.connect(
            url, subprotocols=["graphql-transport-ws"], additional_headers=headers
        ):
            return 101
    except websockets.InvalidStatus as refused:
        return int(refused.response.status_code)


async def init_answer(base: str, token: str) -> tuple[object, str | int]:
    """The open socket and the answer to connection_init: "connection_ack" or a close code."""
    url = base.replace("http://", "ws://") + "/graphql"
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    payload = {"Authorization": f"Bearer {token}"}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    try:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    except websockets.ConnectionClosed as closed:
        return ws, closed.rcvd.code if closed.rcvd else 1006
    return ws, str(message["type"])


async def test_a_foreign_origin_is_refused_at_the_handshake(app, database_url, tmp_path):
    with serving(tmp_path, **env(database_url)) as base:
        foreign = await handshake_status(base, Origin="https://evil.example")
        allowed = await handshake_status(base, Origin=OWN_APP)
        same_site = await handshake_status(base, Origin=base)
        no_origin = await handshake_status(base)

    assert foreign == 403
    assert allowed == same_site == no_origin == 101


async def test_operations_per_connection_are_capped(app, database_url, tmp_path):
    manager = await make_user()
    campaign = await make_campaign(manager)
    variables = {"campaignId": gid("Campaign", campaign)}
    limits = {"MAX_SUBSCRIPTIONS_PER_CONNECTION": "2"}
    with serving(tmp_path, **env(database_url, **limits)) as base:
        client = await LiveClient.connect(base, token_for(manager))
        first = await client.subscribe(CHAT, variables)
        await client.subscribe(CHAT, variables)
        third = await client.subscribe(CHAT, variables)
        refused = await client.receive()
        await client.socket.send(json.dumps({"id": first, "type": "complete"}))
        await asyncio.sleep(0.2)
        fourth = await client.subscribe(CHAT, variables)
        await asyncio.sleep(0.5)
        still_open = [message async for message in _pending(client)]
        await client.close()

    assert refused["id"] == third and refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "MAX_SUBSCRIPTIONS_PER_CONNECTION" in refused["payload"][0]["message"]
    assert not [m for m in still_open if m.get("id") == fourth and m["type"] == "error"]


async def _pending(client: LiveClient):
    while True:
        try:
            yield await client.receive(timeout=0.2)
        except TimeoutError:
            return


async def test_connections_per_user_are_capped_and_freed_on_close(app, database_url, tmp_path):
    user, other = await make_user(), await make_user()
    limits = {"MAX_CONNECTIONS_PER_USER": "2"}
    with serving(tmp_path, **env(database_url, **limits)) as base:
        one, first = await init_answer(base, token_for(user))
        two, second = await init_answer(base, token_for(user))
        three, third = await init_answer(base, token_for(user))
        four, others = await init_answer(base, token_for(other))
        await one.close()
        await asyncio.sleep(0.3)
        five, after_close = await init_answer(base, token_for(user))
        for ws in (two, three, four, five):
            await ws.close()

    assert first == second == others == after_close == "connection_ack"
    assert third == 4429


@pytest.mark.postgres_only
async def test_connections_per_user_count_across_processes_through_redis(
    app, database_url, tmp_path
):
    user = await make_user()
    with redis_server() as redis:
        settings = env(database_url, REDIS_URL=redis.url, MAX_CONNECTIONS_PER_USER="2")
        with serving(tmp_path, **settings) as first, serving(tmp_path, **settings) as second:
            one, on_first = await init_answer(first, token_for(user))
            two, on_second = await init_answer(second, token_for(user))
            three, over = await init_answer(first, token_for(user))
            for ws in (one, two, three):
                await ws.close()

    assert on_first == on_second == "connection_ack"
    assert over == 4429


async def test_operation_limits_hold_on_the_websocket_too(app, database_url, tmp_path):
    manager = await make_user()
    campaign = await make_campaign(manager)
    deep = """
    subscription($campaignId: ID!) { campaignChat(campaignId: $campaignId) {
      author { id } campaign { stages { opportunities(first: 1) { edges { node { customer {
        opportunities(first: 1) { edges { node { id } } } } } } } } } } }
    """
    variables = {"campaignId": gid("Campaign", campaign)}
    limits = {"MAX_QUERY_DEPTH": "6"}
    with serving(tmp_path, **env(database_url, **limits)) as base:
        client = await LiveClient.connect(base, token_for(manager))
        deep_id = await client.subscribe(deep, variables)
        too_deep = await client.receive()
        long_id = await client.subscribe(CHAT, {**variables, "after": "c" * 1001})
        too_long = await client.receive()
        unstorable = []
        for text in ("c\x00", "c\ud800"):
            await client.subscribe(CHAT, {**variables, "after": text})
            unstorable.append(await client.receive())
        await client.close()

    assert too_deep["id"] == deep_id and too_deep["type"] == "error"
    assert too_deep["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "maximum operation depth of 6" in too_deep["payload"][0]["message"]
    assert too_long["id"] == long_id and too_long["type"] == "error"
    assert too_long["payload"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "after",
        "limit": 1000,
    }
    for refused in unstorable:
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_a_websocket_message_over_the_body_limit_closes_the_socket(
    app, database_url, tmp_path
):
    manager = await make_user()
    with serving(tmp_path, **env(database_url, MAX_BODY_BYTES="10000")) as base:
        client = await LiveClient.connect(base, token_for(manager))
        await client.subscribe("{ me { name } }" + " " * 20_000)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.receive()

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_operations_over_the_rate_are_refused_on_the_websocket(app, database_url, tmp_path):
    manager = await make_user()
    campaign = await make_campaign(manager)
    variables = {"campaignId": gid("Campaign", campaign)}
    with serving(tmp_path, **env(database_url, OPERATIONS_PER_SECOND="2")) as base:
        client = await LiveClient.connect(base, token_for(manager))
        wait_for_a_fresh_second()
        ids = [await client.subscribe(CHAT, variables) for _ in range(3)]
        refused = await client.receive()
        await client.close()

    assert refused["id"] == ids[2] and refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
