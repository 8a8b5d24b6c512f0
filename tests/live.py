"""Real parts for live tests: uvicorn server processes, a redis-server, a websocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets

from server.settings import LIMIT_VARIABLES, WEBHOOK_VARIABLES

FUNNELGRAPH = str(Path(sys.executable).with_name("funnelgraph"))
SETTINGS_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_PREFIX",
    "TRUSTED_DOCUMENTS",
    "SECRET_KEY",
    "FUNNELGRAPH_ENV",
    "LOG_FORMAT",
    "LOG_OPERATIONS",
    "METRICS",
    "METRICS_TOKEN",
    "PROMETHEUS_MULTIPROC_DIR",
    *WEBHOOK_VARIABLES,
    *LIMIT_VARIABLES.values(),
)
# Tests drive one user faster than a person would; the rate limit has tests of its own.
# Nor is a line per operation logged (most servers' stderr is a pipe nobody reads):
# the log has tests of its own.
UNTHROTTLED = {"OPERATIONS_PER_SECOND": "100000", "LOG_OPERATIONS": "off"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server of the test's own, on its own port, that can be stopped and restarted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="redis-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self._process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@contextmanager
def server_process(
    cwd: Path,
    log: Path | None = None,
    *,
    serve_args: Sequence[str] = (),
    port: int | None = None,
    **env: str,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A `funnelgraph serve` process (real uvicorn, with `serve_args` such as
    `--workers 2`), on `port` (default: a free one); yields its base URL and the process.

    Its stderr goes to `log` when given (a pipe nobody reads fills up under many
    connections and blocks the server), else to a pipe."""
    port = port or free_port()
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    with (
        open(log, "w") if log else contextlib.nullcontext() as sink,
        subprocess.Popen(
            [FUNNELGRAPH, "serve", "--port", str(port), *serve_args],
            cwd=cwd,
            env={**clean, **UNTHROTTLED, **env},
            stdout=subprocess.DEVNULL,
            stderr=sink or subprocess.PIPE,
            text=True,
        ) as server,
    ):
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}/healthz", server)
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=20)


@contextmanager
def serving(cwd: Path, **env: str) -> Iterator[str]:
    """A `funnelgraph serve` process (real uvicorn); yields its base URL."""
    with server_process(cwd, **env) as (base, _process):
        yield base


def _wait_for(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {server.stderr.read() if server.stderr else ''}")
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within 30 s")


async def post(base: str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{base}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )
    body: dict[str, Any] = response.json()
    return body


class LiveClient:
    """A graphql-transport-ws client over a real websocket."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self._ids = 0

    @classmethod
    async def connect(cls, base: str, token: str | None, **headers: str) -> LiveClient:
        url = base.replace("http://", "ws://") + "/graphql"
        ws = await websockets.connect(
            url, subprotocols=["graphql-transport-ws"], additional_headers=headers or None
        )
        client = cls(ws)
        payload = {} if token is None else {"Authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        if token is not None:
            ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert ack["type"] == "connection_ack", ack
        return client

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        op_id = str(self._ids)
        await self.socket.send(
            json.dumps(
                {
                    "id": op_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return op_id

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next message (next, error, complete) of any operation."""
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
            if message["type"] in ("ping", "pong"):
                continue
            return dict(message)

    async def next_data(self, timeout: float = 10.0) -> dict[str, Any]:
        message = await self.receive(timeout)
        assert message["type"] == "next", message
        assert not message["payload"].get("errors"), message
        return dict(message["payload"]["data"])

    async def close(self) -> None:
        await self.socket.close()


def wait_for_a_fresh_second() -> None:
    """Starts a burst early in a wall-clock second, so a per-second limit counts it in
    one window."""
    fraction = time.time() % 1
    if fraction > 0.5:
        time.sleep(1.01 - fraction)
