"""A real HTTP receiver for webhook tests: an asyncio server on a free local port that
records every request and answers as the test's `answer` says (a status, a hang, or a
dropped connection)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook as Verifier

HANG = -1  # answer: nothing, until the sender closes the connection
DROP = -2  # answer: close the connection without a response


@dataclass
class Received:
    """One request as it arrived, and what the receiver answered."""

    headers: dict[str, str]
    body: bytes
    answered: int
    request_line: bytes = b""

    @property
    def payload(self) -> dict[str, Any]:
        try:
            parsed: dict[str, Any] = json.loads(self.body)
        except ValueError:
            raise AssertionError(f"not a delivery: {self.request_line!r} {self.headers}") from None
        return parsed

    @property
    def seq(self) -> int:
        return int(self.payload["seq"])

    @property
    def delivered(self) -> bool:
        return 200 <= self.answered < 300

    def verified(self, secret: str) -> dict[str, Any]:
        """The payload, once its signature checks out with the Standard Webhooks
        reference library (raises otherwise)."""
        checked: dict[str, Any] = Verifier(secret).verify(self.body, self.headers)
        return checked


@dataclass
class WebhookReceiver:
    answer: Callable[[int], int] = lambda attempt: 200  # by request number, from 0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    delay: float = 0.0  # seconds before each answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[Received]:
        return [request for request in self.received if request.delivered]

    async def wait_for(self, condition: Callable[[], bool], seconds: float = 15.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                seqs = [(request.seq, request.answered) for request in self.received]
                raise AssertionError(f"the receiver did not get what was awaited: {seqs}")
            await asyncio.sleep(0.02)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await reader.readline()
            headers: dict[str, str] = {}
            while (line := await reader.readline()) != b"\r\n":
                if not line.endswith(b"\n"):  # the sender went away mid-request (kill -9)
                    return
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = self.answer(len(self.received))
            if self.delay:
                await asyncio.sleep(self.delay)
            self.received.append(Received(headers, body, status, request_line))
            if status == HANG:  # until the sender gives up and closes
                await reader.read()
            if status >= 0:
                head = f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                writer.write(head.encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()


@asynccontextmanager
async def webhook_receiver(
    answer: Callable[[int], int] | None = None,
) -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver() if answer is None else WebhookReceiver(answer=answer)
    server = await asyncio.start_server(receiver._serve, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        with suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)
