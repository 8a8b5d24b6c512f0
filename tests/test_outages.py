"""Outages of PostgreSQL and Redis, on clusters of the tests' own: answers in the
contract's shape while they are down, and streams that go on, losing nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
from typing import Any

import httpx
import pytest
import websockets

from server.graphql_response import MEDIA_TYPE as GRAPHQL_RESPONSE
from tests.conftest import TEST_SECRET
from tests.factories import gid
from tests.live import (
    FUNNELGRAPH,
    SETTINGS_VARIABLES,
    LiveClient,
    redis_server,
    server_process,
    serving,
)
from tests.postgres_cluster import postgres_cluster
from tests.test_live import EVENTS, SALES, board, env, last_cursor, move, token_for

pytestmark = pytest.mark.postgres_only

CHAT = """
subscription Chat($campaignId: ID!, $after: String) {
  campaignChat(campaignId: $campaignId, after: $after) { body }
}
"""
BOARD_EVENTS = """
subscription Board($campaignId: ID!, $after: String) {
  campaignEvents(campaignId: $campaignId, after: $after) {
    seq payload { ... on ChatMessagePosted { message { body author { name } } } }
  }
}
"""
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
CREATE_CAMPAIGN = """
mutation { createCampaign(input: {name: "Outage", stages: ["New", "Won"]}) {
  id lastEventCursor } }
"""
POST_CHAT = """
mutation($i: PostChatMessageInput!) { postChatMessage(input: $i) { cursor } }
"""
ME = "{ me { name } }"
PASSWORD = "outage-password-1"


async def test_streams_catch_up_within_a_second_of_redis_answering_again(
    app, database_url, tmp_path
):
    # given a subscriber on one process and a writer on another, sharing a Redis
    manager, _seller, campaign, stages, card = await board(app)
    token = token_for(manager)
    with (
        redis_server() as redis,
        serving(tmp_path, **env(database_url, redis.url)) as reader,
        serving(tmp_path, **env(database_url, redis.url)) as writer,
    ):
        client = await LiveClient.connect(reader, token)
        after = await last_cursor(reader, token, campaign)
        await client.subscribe(EVENTS, {"campaignId": gid("Campaign", campaign), "after": after})
        await move(writer, token, card, stages[1])
        assert (await client.next_data())["campaignEvents"]["seq"] == 1
        # when Redis is away for a few seconds, with a write while it is down
        redis.stop()
        await move(writer, token, card, stages[2])
        await asyncio.sleep(4)
        redis.start()
        back = time.monotonic()
        await move(writer, token, card, stages[0])
        # then the missed event and the one written after its return arrive within 1 s
        seqs = [(await client.next_data(timeout=5))["campaignEvents"]["seq"] for _ in range(2)]
        took = time.monotonic() - back
        await client.close()
    assert seqs == [2, 3]
    assert took < 1.0, f"caught up {took:.2f} s after Redis answered"


async def test_a_board_on_the_writers_own_process_gets_its_moves_at_once_while_redis_is_away(
    app, database_url, tmp_path
):
    # given a board and a writer on one process, whose Redis has gone away
    manager, _seller, campaign, stages, card = await board(app)
    token = token_for(manager)
    with redis_server() as redis, serving(tmp_path, **env(database_url, redis.url)) as server:
        client = await LiveClient.connect(server, token)
        after = await last_cursor(server, token, campaign)
        await client.subscribe(EVENTS, {"campaignId": gid("Campaign", campaign), "after": after})
        await move(server, token, card, stages[1])
        assert (await client.next_data())["campaignEvents"]["seq"] == 1
        redis.stop()
        # when the writer moves the card twice
        await move(server, token, card, stages[2])
        await move(server, token, card, stages[0])
        # then the board has both moves within a second, in order: not at the channel's
        # next quiet check of the log, 15 s away, as a signal lost with Redis would be
        seqs = [(await client.next_data(timeout=1.0))["campaignEvents"]["seq"] for _ in range(2)]
        await client.close()
    assert seqs == [2, 3]


def _cli(database_url: str, *argv: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    done = subprocess.run(
        [FUNNELGRAPH, *argv],
        env={**clean, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _seed(database_url: str) -> None:
    """Migrate a fresh cluster and give it a manager who may create campaigns."""
    _cli(database_url, "migrate")
    permissions = [arg for p in SALES for arg in ("--permission", p.value)]
    _cli(
        database_url,
        *("create-user", "--email", "m@example.com", "--name", "Mai"),
        *("--password", PASSWORD, "--permission", "CAMPAIGN_CREATE", *permissions),
    )


async def _sign_in_and_create_a_campaign(http: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """The manager's token (kept on `http`) and a new campaign's id and lastEventCursor."""
    login = await _graphql(http, LOGIN, {"e": "m@example.com", "p": PASSWORD})
    token = str(login.json()["data"]["login"]["token"])
    http.headers["Authorization"] = f"Bearer {token}"
    made = (await _graphql(http, CREATE_CAMPAIGN)).json()["data"]["createCampaign"]
    return token, dict(made)


async def _graphql(http: httpx.AsyncClient, query: str, variables: Any = None) -> httpx.Response:
    return await http.post("/graphql", json={"query": query, "variables": variables or {}})


class Writer:
    """Posts numbered chat messages without pause; remembers which ones were answered."""

    def __init__(self, http: httpx.AsyncClient, campaign_id: str) -> None:
        self.http = http
        self.campaign_id = campaign_id
        self.committed: list[str] = []
        self.refusals: list[httpx.Response] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            number += 1
            body = f"message {number}"
            variables = {"i": {"campaignId": self.campaign_id, "body": body}}
            response = await _graphql(self.http, POST_CHAT, variables)
            if response.status_code == 200 and not response.json().get("errors"):
                self.committed.append(body)
            else:
                self.refusals.append(response)
                await asyncio.sleep(0.05)


async def _collect(client: LiveClient, into: list[dict[str, Any]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            into.append(await client.receive(timeout=0.5))


async def test_a_postgresql_outage_is_answered_in_shape_and_streams_resume_losing_nothing(
    tmp_path,
):
    with postgres_cluster() as cluster, redis_server() as redis:
        # given a server on a PostgreSQL of the test's own, three live subscribers and a
        # writer posting to the campaign's chat
        await asyncio.to_thread(_seed, cluster.url)
        log = tmp_path / "server.log"
        with server_process(tmp_path, log, **env(cluster.url, redis.url)) as (base, _server):
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                token, made = await _sign_in_and_create_a_campaign(http)
                variables = {"campaignId": made["id"], "after": made["lastEventCursor"]}
                clients = [await LiveClient.connect(base, token) for _ in range(3)]
                for client, document in zip(clients, (EVENTS, BOARD_EVENTS, CHAT), strict=True):
                    await client.subscribe(document, variables)
                received: list[list[dict[str, Any]]] = [[], [], []]
                done = asyncio.Event()
                readers = [
                    asyncio.create_task(_collect(c, r, done))
                    for c, r in zip(clients, received, strict=True)
                ]
                writer = Writer(http, made["id"])
                writing = asyncio.create_task(writer.run())
                await asyncio.sleep(1.5)

                # when PostgreSQL stops for five seconds under that load
                await asyncio.to_thread(cluster.stop)
                await asyncio.sleep(1)
                query = await _graphql(http, ME)
                asked = await http.post(
                    "/graphql", json={"query": ME}, headers={"Accept": GRAPHQL_RESPONSE}
                )
                handshake = await _handshake_close_code(base, token)
                await asyncio.sleep(4)
                await asyncio.to_thread(cluster.start)
                await asyncio.sleep(3)
                writer.stop.set()
                await writing
                final = await _graphql(
                    http,
                    "query($id: ID!) { campaign(id: $id) { lastEventCursor } }",
                    {"id": made["id"]},
                )
                await _wait_for_seq(received[1], _seq_of(final.json()), timeout=20)
                done.set()
                await asyncio.gather(*readers)
                for client in clients:
                    await client.close()

    # (asyncpg's pool logs its own reconnect attempts; nothing of ours is an incident)
    text = await asyncio.to_thread(log.read_text)
    assert "unexpected error" not in text
    assert "Exception in ASGI application" not in text
    assert "Exception in worker task" not in text
    # then a query was answered 503 with a coded JSON error and Retry-After,
    assert query.status_code == 503
    assert query.headers["retry-after"].isdigit()
    assert [e["extensions"]["code"] for e in query.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
    # (in the media type a client asked for: then with no data entry, as it never ran)
    assert asked.status_code == 503
    assert asked.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert asked.headers["retry-after"].isdigit()
    assert "data" not in asked.json()
    # so were the writes that came while it was down, and a new websocket got 1013,
    assert writer.refusals, "no write was refused during the outage"
    for refusal in writer.refusals:
        assert refusal.status_code == 503, refusal.text
        codes = {e["extensions"]["code"] for e in refusal.json()["errors"]}
        assert codes == {"SERVICE_UNAVAILABLE"}, refusal.text
    assert handshake == 1013
    # and every subscriber got every event exactly once, in order, and no error
    assert len(writer.committed) > 10
    last = _seq_of(final.json())
    for messages in received:
        assert {m["type"] for m in messages} == {"next"}, messages
        assert all("errors" not in m["payload"] for m in messages)
    events = [m["payload"]["data"]["campaignEvents"] for m in received[0]]
    assert [e["seq"] for e in events] == list(range(1, last + 1))
    bodies = [m["payload"]["data"]["campaignChat"]["body"] for m in received[2]]
    assert [e["payload"]["message"]["body"] for e in events] == bodies
    board_bodies = [
        m["payload"]["data"]["campaignEvents"]["payload"]["message"]["body"] for m in received[1]
    ]
    assert board_bodies == bodies
    # (a write whose answer was lost may still have committed; none may be missing)
    assert set(writer.committed) <= set(bodies)


def _seq_of(answer: dict[str, Any]) -> int:
    from resolvers.pagination import decode_cursor

    cursor = answer["data"]["campaign"]["lastEventCursor"]
    return int(decode_cursor(cursor, "after", 3)[2])


async def _wait_for_seq(messages: list[dict[str, Any]], seq: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seqs = [
            m["payload"]["data"]["campaignEvents"]["seq"]
            for m in messages
            if (m.get("payload") or {}).get("data")
        ]
        if seqs and seqs[-1] >= seq:
            return
        await asyncio.sleep(0.1)


async def _handshake_close_code(base: str, token: str) -> int | None:
    url = base.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await socket.send(json.dumps(init))
        try:
            await asyncio.wait_for(socket.recv(), 10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


async def test_sigterm_while_postgresql_is_down_ends_within_the_shutdown_timeout(tmp_path):
    with postgres_cluster() as cluster, redis_server() as redis:
        # given a server whose streams wait for a PostgreSQL that has stopped
        await asyncio.to_thread(_seed, cluster.url)
        log = tmp_path / "server.log"
        settings = {**env(cluster.url, redis.url), "SHUTDOWN_TIMEOUT_SECONDS": "2"}
        with server_process(tmp_path, log, **settings) as (base, server):
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                token, made = await _sign_in_and_create_a_campaign(http)
            variables = {"campaignId": made["id"], "after": made["lastEventCursor"]}
            clients = [await LiveClient.connect(base, token) for _ in range(5)]
            for client in clients:
                await client.subscribe(CHAT, variables)
            await asyncio.to_thread(cluster.stop)
            await asyncio.sleep(1)
            # when it is told to stop
            started = time.monotonic()
            server.terminate()
            await asyncio.to_thread(server.wait, 30)
            took = time.monotonic() - started
    # then it ends within its shutdown timeout and a margin for closing the pools
    assert took < 2 + 7, f"SIGTERM took {took:.1f} s"
    assert "Application shutdown complete" in await asyncio.to_thread(log.read_text)
