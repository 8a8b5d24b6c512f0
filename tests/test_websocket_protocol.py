"""server/websocket_protocol.py: uvicorn's websocket protocol, holding less per socket,
behaves as uvicorn's own. A real uvicorn on a free port with an app that echoes, and
a real websocket client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import websockets
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from server.websocket_protocol import LeanWebSocketProtocol
from tests.live import free_port

BIG = "x" * 64_000


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accepts with the request's Authorization header as its subprotocol-free greeting,
    then answers "flood N" with N large frames, anything else with itself."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    headers = dict(scope["headers"])
    await send({"type": "websocket.send", "text": headers.get(b"authorization", b"-").decode()})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message["text"]
        if text.startswith("flood "):
            for n in range(int(text.split()[1])):
                await send({"type": "websocket.send", "text": f"{n}:{BIG}"})
        else:
            await send({"type": "websocket.send", "text": text})


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@asynccontextmanager
async def serving() -> AsyncIterator[tuple[str, _Server]]:
    port = free_port()
    config = uvicorn.Config(
        echo,
        port=port,
        ws=LeanWebSocketProtocol,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=5,  # a test that fails leaves its app waiting
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    await asyncio.wait(
        [task, asyncio.create_task(server.ready.wait())], return_when="FIRST_COMPLETED"
    )
    if task.done():
        task.result()  # raises what stopped it from starting
    try:
        yield f"ws://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        await task


async def test_messages_arrive_in_order_and_the_handshake_headers_reach_the_app() -> None:
    async with (
        serving() as (url, server),
        websockets.connect(url, additional_headers={"Authorization": "Bearer t"}) as client,
    ):
        assert await client.recv() == "Bearer t"
        sent = [f"message {n}" for n in range(300)]
        for text in sent:  # all at once: they queue before the app reads them
            await client.send(text)
        assert [await client.recv() for _ in sent] == sent
        (protocol,) = server.server_state.connections
        assert not hasattr(protocol, "request")  # let go once the socket is accepted


async def test_a_reader_that_falls_behind_gets_every_frame_once_it_reads() -> None:
    """The app's sends wait while the socket's buffers are full, and go on when the
    client reads again: nothing lost, nothing reordered. The client is websockets'
    sans-I/O protocol over a socket with a 4 KB receive buffer that reads nothing until
    the app waits."""
    frames = 200  # 12.8 MB: far past the client's buffer and the transport's
    async with serving() as (url, server):
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
        reader, writer = await asyncio.open_connection(sock=raw, limit=4096)
        client = ClientProtocol(parse_uri(url), max_size=None)
        client.send_request(client.connect())
        received: list[str] = []

        async def read_until(count: int) -> None:
            while len(received) < count:
                client.receive_data(await asyncio.wait_for(reader.read(65_536), 10))
                for event in client.events_received():
                    if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                        received.append(bytes(event.data).decode())

        async def send(text: str) -> None:
            client.send_text(text.encode())
            writer.write(b"".join(client.data_to_send()))
            await writer.drain()

        writer.write(b"".join(client.data_to_send()))
        await read_until(1)  # the handshake, then the greeting
        await send(f"flood {frames}")
        await asyncio.sleep(0.5)
        (protocol,) = server.server_state.connections
        assert isinstance(protocol, LeanWebSocketProtocol)
        assert not protocol.writable.is_set()  # the app waits for the client to read
        await read_until(1 + frames)
        assert [int(text.split(":")[0]) for text in received[1:]] == list(range(frames))
        await send("after")
        await read_until(2 + frames)
        assert received[-1] == "after"
        writer.close()
