"""The browser client's own graphql-transport-ws client (server/web/live.js), in real
Chromium against a scripted protocol peer (Playwright's websocket routing): what it
sends, how it answers pings, and how it resumes after a close or gives up on 4403."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute

from tests.live import serving
from tests.test_web_client import chromium

pytestmark = pytest.mark.postgres_only  # no database behind it: once is enough

START = """
async () => {
  const { LiveConnection } = await import("/app/live.js");
  window.states = [];
  window.results = [];
  window.refused = [];
  window.failures = [];
  let after = null;
  window.connection = new LiveConnection({
    url: `ws://${location.host}/graphql`,
    token: "t0ken",
    onState: (state) => states.push(state),
    onRefused: (code) => refused.push(code),
  });
  connection.subscribe("subscription { tick }", () => ({ after }), {
    next: (data) => { results.push(data); after = `cursor-${results.length}`; },
    error: (errors) => failures.push(errors),
  });
}
"""


class Peer:
    """The server side of each connection the page opens: what it received, and the
    sockets, for the test to close."""

    def __init__(self, on_subscribe: Callable[[WebSocketRoute, dict[str, Any], int], None]) -> None:
        self.connections: list[tuple[WebSocketRoute, list[dict[str, Any]]]] = []
        self.on_subscribe = on_subscribe

    def __call__(self, socket: WebSocketRoute) -> None:
        received: list[dict[str, Any]] = []
        self.connections.append((socket, received))
        number = len(self.connections)

        def message(raw: str | bytes) -> None:
            data = json.loads(raw)
            received.append(data)
            if data["type"] == "connection_init":
                socket.send(json.dumps({"type": "connection_ack"}))
                socket.send(json.dumps({"type": "ping"}))
            elif data["type"] == "subscribe":
                self.on_subscribe(socket, data, number)

        socket.on_message(message)


async def page_with(browser: Browser, base: str, peer: Callable[[WebSocketRoute], None]) -> Page:
    """A page of the client's own origin whose websockets `peer` answers, running START."""
    page = await browser.new_page()
    await page.route_web_socket(re.compile(r".*/graphql$"), peer)
    await page.goto(f"{base}/app/")
    await page.evaluate(START)
    return page


async def until(page: Page, expression: str, seconds: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await page.evaluate(expression)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{expression} stayed falsy")
        await asyncio.sleep(0.05)


async def test_it_signs_in_answers_pings_and_resumes_after_a_close_from_the_last_cursor(
    database_url: str, tmp_path: Path
) -> None:
    def tick(socket: WebSocketRoute, message: dict[str, Any], number: int) -> None:
        payload = {"data": {"tick": number}}
        socket.send(json.dumps({"id": message["id"], "type": "next", "payload": payload}))

    peer = Peer(tick)
    with serving(tmp_path, DATABASE_URL=database_url) as base:
        async with chromium() as browser:
            page = await page_with(browser, base, peer)
            await until(page, "results.length === 1")
            # the server restarts (1012): the client reconnects and starts again after
            # the last cursor it saw
            first_socket, first = peer.connections[0]
            await first_socket.close(code=1012, reason="restart")
            await until(page, "results.length === 2")
            states = await page.evaluate("states")
    _, second = peer.connections[1]
    for messages in (first, second):  # init first; then, after the ack, both of these
        assert messages[0]["type"] == "connection_init"
        assert messages[0]["payload"] == {"Authorization": "Bearer t0ken"}
        assert sorted(message["type"] for message in messages[1:]) == ["pong", "subscribe"]
    [started] = [message for message in first if message["type"] == "subscribe"]
    [again] = [message for message in second if message["type"] == "subscribe"]
    assert started["payload"]["query"] == "subscription { tick }"
    assert started["payload"]["variables"] == {"after": None}
    assert again["payload"]["variables"] == {"after": "cursor-1"}
    assert again["id"] == started["id"]
    assert states == ["live", "reconnecting", "live"]


async def test_it_stops_and_says_so_when_the_server_refuses_its_token(
    database_url: str, tmp_path: Path
) -> None:
    peer = Peer(lambda socket, message, number: None)

    def refuse(socket: WebSocketRoute) -> None:
        peer(socket)
        socket.on_message(lambda raw: asyncio.ensure_future(socket.close(code=4403)))

    with serving(tmp_path, DATABASE_URL=database_url) as base:
        async with chromium() as browser:
            page = await page_with(browser, base, refuse)
            await until(page, "refused.length === 1")
            await asyncio.sleep(1.5)  # longer than any backoff: nothing reconnects
            refused, states = await page.evaluate("[refused, states]")
    assert refused == [4403]
    assert states == ["closed"]
    assert len(peer.connections) == 1


async def test_a_stream_ended_by_an_error_reaches_its_error_callback_not_its_results(
    database_url: str, tmp_path: Path
) -> None:
    def resync(socket: WebSocketRoute, message: dict[str, Any], number: int) -> None:
        ended = {"message": "reload", "extensions": {"code": "RESYNC_REQUIRED"}}
        payload = {"data": None, "errors": [ended]}
        socket.send(json.dumps({"id": message["id"], "type": "next", "payload": payload}))
        socket.send(json.dumps({"id": message["id"], "type": "complete"}))

    peer = Peer(resync)
    with serving(tmp_path, DATABASE_URL=database_url) as base:
        async with chromium() as browser:
            page = await page_with(browser, base, peer)
            await until(page, "failures.length === 1")
            failures, results = await page.evaluate("[failures, results]")
    assert failures == [[{"message": "reload", "extensions": {"code": "RESYNC_REQUIRED"}}]]
    assert results == []
