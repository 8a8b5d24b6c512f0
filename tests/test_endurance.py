"""Endurance on real uvicorn: nothing kept per websocket once it closes, however it
closes, no traceback when a client leaves mid-send, a socket whose client went silent
is closed, and SIGTERM ends a busy server within its shutdown timeout."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time

import httpx
import psutil
import pytest
import websockets

from models import EventKind
from realtime.log import append_event
from resolvers.writes import campaign_write
from tests.conftest import BACKEND
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user
from tests.live import redis_server, server_process
from tests.test_live import SALES, token_for

LOGGED_EVENTS = 300
WAVES = 4
PER_WAVE = 500
CONCURRENCY = 25
SHUTDOWN_TIMEOUT = 3
REPLAY = """
subscription Replay($campaignId: ID!, $after: String) {
  campaignEvents(campaignId: $campaignId, after: $after) {
    seq payload { ... on OpportunityMoved { toStage { name } opportunity { name } } }
  }
}
"""


async def campaign_with_a_long_log():
    """A manager's campaign whose log holds LOGGED_EVENTS moves; its first cursor."""
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    card = await make_opportunity(campaign, await make_customer(owner=manager), owner=manager)
    async with campaign_write(campaign.pk) as locked:
        for _ in range(LOGGED_EVENTS):
            await append_event(
                locked,
                EventKind.OPPORTUNITY_MOVED,
                manager,
                opportunity_id=card.pk,
                from_stage_id=card.stage_id,
                to_stage_id=card.stage_id,
                after_id=None,
            )
    return token_for(manager), gid("Campaign", campaign)


async def session(url: str, token: str, campaign_id: str, kind: str) -> None:
    """One websocket that leaves in the way `kind` says."""
    # Unbounded like a browser's: a bounded queue that fills stops the client reading,
    # and its close then waits for a close frame it cannot read.
    connect = websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None)
    async with connect as socket:
        if kind == "bare":
            return
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await socket.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
        if kind == "init":
            return
        variables = {"campaignId": campaign_id, "after": None}
        variables["after"] = _first_cursor(campaign_id)
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": REPLAY}}
        subscribe["payload"]["variables"] = variables
        await socket.send(json.dumps(subscribe))
        if kind == "reset":  # gone without a close frame, mid-replay
            await asyncio.sleep(random.uniform(0, 0.05))
            socket.transport.abort()
            return
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert message["type"] == "next", message  # then closes mid-replay


def _first_cursor(campaign_id: str) -> str:
    from resolvers.event_cursors import event_cursor
    from resolvers.ids import decode_id

    return event_cursor(decode_id(campaign_id, "Campaign"), 0)


async def wave(base: str, token: str, campaign_id: str, count: int) -> None:
    url = base.replace("http://", "ws://") + "/graphql"
    kinds = ["bare", "init", "replay", "reset"]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int) -> None:
        async with gate:
            await session(url, token, campaign_id, kinds[index % len(kinds)])

    await asyncio.gather(*(one(i) for i in range(count)))


async def settled(base: str) -> dict[str, int]:
    """The server's live counts once every socket it had is gone (at most 20 s)."""
    deadline = time.monotonic() + 20
    async with httpx.AsyncClient() as http:
        while True:
            live = (await http.get(f"{base}/healthz")).json()["live"]
            if (live["websockets"] == 0 and live["streams"] == 0) or time.monotonic() > deadline:
                return dict(live)
            await asyncio.sleep(0.1)


def server_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    from tests.conftest import TEST_SECRET

    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "MAX_CONNECTIONS_PER_USER": "100000",
        "SHUTDOWN_TIMEOUT_SECONDS": str(SHUTDOWN_TIMEOUT),
    }
    return {**env, "REDIS_URL": redis_url} if redis_url else env


@pytest.fixture
def redis_url():
    """A private Redis on PostgreSQL runs (production's shape); none on SQLite (embedded)."""
    if BACKEND != "postgres":
        yield None
        return
    with redis_server() as redis:
        yield redis.url


async def test_closed_websockets_leave_nothing_behind_however_they_close(
    app, database_url, redis_url, tmp_path
):
    # given a server, and a campaign whose log is long enough to leave mid-replay
    token, campaign_id = await campaign_with_a_long_log()
    log = tmp_path / "server.log"
    with server_process(tmp_path, log, **server_env(database_url, redis_url)) as (base, server):
        process = psutil.Process(server.pid)
        # when websockets open and close in waves: before init, after it, mid-replay, reset
        await wave(base, token, campaign_id, PER_WAVE)
        warmed = await settled(base)
        rss_warm = process.memory_info().rss
        for _ in range(WAVES - 1):
            await wave(base, token, campaign_id, PER_WAVE)
        after = await settled(base)
        rss_after = process.memory_info().rss
    # then the server is back to no socket, no stream and its first wave's task count,
    assert after["websockets"] == 0
    assert after["streams"] == 0
    assert after["tasks"] <= warmed["tasks"]
    # its memory did not grow with the next 1,500 connections,
    growth_mb = (rss_after - rss_warm) / 2**20
    assert growth_mb < 10, f"RSS grew {growth_mb:.1f} MB over {(WAVES - 1) * PER_WAVE} sockets"
    # and clients that left mid-send are no incident in its log
    text = await asyncio.to_thread(log.read_text)
    assert "Traceback" not in text, text[text.index("Traceback") - 300 :][:3000]


async def test_a_socket_whose_client_stops_answering_pings_is_closed_with_its_stream(
    app, database_url, redis_url, tmp_path
):
    # given a server that pings every second, and two clients on a campaign's live board
    manager = await make_user(*SALES)
    campaign_id = gid("Campaign", await make_campaign(manager))
    env = {**server_env(database_url, redis_url), "WEBSOCKET_PING_SECONDS": "1"}
    with server_process(tmp_path, **env) as (base, _server):
        url = base.replace("http://", "ws://") + "/graphql"
        answering = await _subscribed(url, token_for(manager), campaign_id, after=None)
        silent = await _subscribed(url, token_for(manager), campaign_id, after=None)
        assert (await _live(base))["streams"] == 2
        # when one of them stops reading (a laptop asleep, a network gone)
        silent.transport.pause_reading()
        live = await _once_at_most(base, websockets=1, seconds=15)
        # then the server closes that socket and ends its stream, and keeps the other
        assert live["websockets"] == 1
        assert live["streams"] == 1
        await answering.ping()
    await answering.close()
    silent.transport.abort()


async def _live(base: str) -> dict[str, int]:
    async with httpx.AsyncClient() as http:
        return dict((await http.get(f"{base}/healthz")).json()["live"])


async def _once_at_most(base: str, websockets: int, seconds: float) -> dict[str, int]:
    """The server's live counts once it holds at most `websockets` (or after `seconds`)."""
    for _ in range(int(seconds / 0.2)):
        live = await _live(base)
        if live["websockets"] <= websockets:
            return live
        await asyncio.sleep(0.2)
    return await _live(base)


async def test_sigterm_ends_a_busy_server_within_its_shutdown_timeout(
    app, database_url, redis_url, tmp_path
):
    # given a server that has seen churn and still holds sockets, some of them mid-replay
    token, campaign_id = await campaign_with_a_long_log()
    log = tmp_path / "server.log"
    with server_process(tmp_path, log, **server_env(database_url, redis_url)) as (base, server):
        await wave(base, token, campaign_id, 200)
        url = base.replace("http://", "ws://") + "/graphql"
        held = [await _subscribed(url, token, campaign_id) for _ in range(30)]
        # when it is told to stop
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        codes = await asyncio.gather(*(_close_code(socket) for socket in held))
        await asyncio.to_thread(server.wait, 30)
        took = time.monotonic() - started
    # then it is gone within the shutdown timeout (and a margin for closing the pools),
    assert took < SHUTDOWN_TIMEOUT + 7, f"SIGTERM took {took:.1f} s"
    # having closed every socket with "service restart", then its pools
    assert set(codes) == {1012}
    text = await asyncio.to_thread(log.read_text)
    assert "Application shutdown complete" in text
    assert "Traceback" not in text


async def _subscribed(url: str, token: str, campaign_id: str, after: str | None = ""):
    """A socket subscribed to the campaign's events from `after` (default: its first
    cursor, a replay of the whole log; None: live events only)."""
    socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await socket.send(json.dumps(init))
    await asyncio.wait_for(socket.recv(), 10)
    cursor = _first_cursor(campaign_id) if after == "" else after
    variables = {"campaignId": campaign_id, "after": cursor}
    payload = {"query": REPLAY, "variables": variables}
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return socket


async def _close_code(socket) -> int | None:
    try:
        while True:
            await asyncio.wait_for(socket.recv(), 20)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
