"""Subscription fan-out: funnelgraph's campaignEvents beside a bare Starlette websocket fan-out.

Creates a scratch PostgreSQL database (dropped at the end) and a private
redis-server, seeds one campaign (a manager with every permission, three
stages, one card), starts one real `funnelgraph serve` process and one bare
Starlette app under uvicorn, then for each N opens N websocket subscribers and
sends E triggers one at a time over HTTP:

- funnelgraph: `moveOpportunity` mutations moving the card back and forth, every
  subscriber on `campaignEvents(campaignId, after: lastEventCursor)`;
- baseline: a POST whose body is the exact message text a GraphQL subscriber
  received for that event; the app sends it to every connected socket.

Latency = receipt time at the subscriber minus the moment the trigger's HTTP
response arrived (the mutation had committed and published just before).

Run: `python -m bench.fanout [--subscribers 100 1000] [--events 200] [--budget 270]
[--pace 20] [--rounds 3] [--client-processes 2]`. With --rounds, each size runs that
many funnelgraph/baseline turns in a row, and the ratios' medians are printed at the
end. With --pace, triggers
go out at most that many per second (each still after the previous one answered):
latency at a sales floor's rate rather than at saturation. With --client-processes, child
processes hold the subscribers (bench/crowd.py): one process reads about 19,000 frames/s
here, so at 10,000 subscribers a single one measures itself.
The whole run keeps within --budget seconds: a funnelgraph run that would overrun
stops sending triggers early (the output says "of 200: time budget") and its
baseline then sends exactly as many. Every subscriber's seqs are checked to be
the expected range exactly once, in order. BENCH_POSTGRES_URL names the server's
admin database (default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg  # type: ignore[import-untyped]
import psutil  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from bench.crowd import ChildCrowds, Crowd, Dial

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SECRET = "fanout-bench-secret-key-that-is-long-enough-for-hs256"
EMAIL = "manager@fanout.bench"
PASSWORD = "fanout-bench-password"
OPEN_CONCURRENCY = 50
STALL_SECONDS = 15.0
READY_TIMEOUT = 60.0
PRIME_SUBSCRIBERS = 5
RESERVE_SECONDS = 40.0  # per size still to run: draining, closing, the baseline's turn
IDLE_SECONDS = 5.0  # server CPU measured with every subscriber open and nothing happening
STATS_SETTLE_SECONDS = 12.0  # see settled()
PROBE_SECONDS = 0.1  # a simple request timed this often while the triggers go out

SUBSCRIPTION = """
subscription Fanout($c: ID!, $lastEventCursor: String) {
  campaignEvents(campaignId: $c, after: $lastEventCursor) {
    seq
    payload { __typename ... on OpportunityMoved { opportunityId toStage { id } afterId } }
  }
}
"""
MOVE = """
mutation Move($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id version } }
"""
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
BOARD = """
query Board { campaigns(first: 1) { edges { node {
  id lastEventCursor stages { id opportunities { edges { node { id } } } }
} } } }
"""


# --------------------------------------------------------------------------- baseline app


def baseline_app() -> Any:
    """The bare Starlette fan-out (a uvicorn factory): keep sockets, send each POST to all."""
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    sockets: set[WebSocket] = set()

    async def keep(websocket: WebSocket) -> None:
        await websocket.accept()
        sockets.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            sockets.discard(websocket)

    async def fan_out(text: str) -> None:
        for websocket in list(sockets):
            try:
                await websocket.send_text(text)
            except Exception:  # a socket closing meanwhile
                sockets.discard(websocket)

    async def trigger(request: Request) -> Response:
        text = (await request.body()).decode()
        # Like the mutation: answer, then the message travels to the sockets.
        return PlainTextResponse("ok", background=BackgroundTask(fan_out, text))

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            WebSocketRoute("/ws", keep),
            Route("/trigger", trigger, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


# --------------------------------------------------------------------------- processes


@dataclass
class Server:
    base: str
    port: int
    pid: int
    log: Path

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    def cpu(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def listening(self) -> bool:
        return any(
            c.laddr and c.laddr.port == self.port and c.status == psutil.CONN_LISTEN
            for c in psutil.Process(self.pid).net_connections(kind="tcp")
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def running(
    argv: list[str],
    env: dict[str, str],
    label: str,
    *,
    port_flag: str = "--port",
    ready_path: str = "/healthz",
    cwd: Path = ROOT,
) -> Iterator[Server]:
    """tests.live.serving, with the pid kept and stderr to a file (a PIPE nobody reads
    fills up with uvicorn's per-connection log lines and blocks the server)."""
    from tests.live import _wait_for, free_port

    port = free_port()
    log = Path(tempfile.mkstemp(prefix=f"fanout-{label}-", suffix=".log")[1])
    with (
        log.open("w") as sink,
        subprocess.Popen(
            [*argv, port_flag, str(port)],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            text=True,
        ) as process,
    ):
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}{ready_path}", process)
            server = Server(base, port, process.pid, log)
            if not server.listening():
                raise RuntimeError(f"pid {process.pid} is not the process listening on {port}")
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.unlink(missing_ok=True)


def production_env(db_url: str, redis_url: str, secret: str, **extra: str) -> dict[str, str]:
    """A production `funnelgraph serve` on the scratch database and the private Redis.
    Throughput is measured, not the abuse limits: one user sends every request, so the
    operations limit is lifted (its counting still runs) and so is the socket limit."""
    return clean_env(
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secret,
        FUNNELGRAPH_ENV="production",
        OPERATIONS_PER_SECOND="1000000",
        MAX_CONNECTIONS_PER_USER="100000",
        **extra,
    )


def baseline_argv(factory: str) -> list[str]:
    """A bare Starlette baseline under uvicorn, as `funnelgraph serve` runs: no access log,
    websockets' sans-I/O protocol, no per-message compression."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--no-access-log",
        "--ws",
        "websockets-sansio",
        "--ws-per-message-deflate",
        "false",
    ]


def clean_env(**extra: str) -> dict[str, str]:
    from tests.live import SETTINGS_VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    return {**env, **extra}


# --------------------------------------------------------------------------- database


@contextmanager
def scratch_database() -> Iterator[str]:
    name = f"funnelgraph_fanout_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(ADMIN_URL)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def seed(url: str) -> None:
    """A manager with every permission, one campaign of three stages, one card."""
    from models import Permission
    from models.database import apply_migrations, close_database, open_database
    from resolvers.users import create_user

    await apply_migrations(url)
    await open_database(url)
    try:
        manager = await create_user(
            name="Fanout Manager", email=EMAIL, password=PASSWORD, permissions=list(Permission)
        )
        await campaign_with_a_card(manager, "Fanout", customer="Fanout Customer")
    finally:
        await close_database()


async def campaign_with_a_card(
    manager: Any,
    name: str,
    *,
    customer: str,
    phone: str | None = None,
    participant_ids: list[str] | None = None,
) -> None:
    """A campaign of `manager`'s with three stages and one card, owned by them, in the first."""
    from models import Opportunity, Stage
    from models.ranking import keys_after
    from resolvers.campaigns import create_campaign
    from resolvers.customers import create_customer

    person = await create_customer(manager, name=customer, phone=phone, email=None, owner_id=None)
    campaign = await create_campaign(
        manager,
        name=name,
        code=None,
        description="fan-out benchmark",
        stages=["New", "Contacted", "Demo"],
        manager_id=None,
        participant_ids=participant_ids or [],
        auto_assign=False,
        rotation_user_ids=None,
        allow_duplicate_opportunities=False,
        registration_wait_minutes=None,
    )
    first = await Stage.filter(campaign_id=campaign.pk).order_by("position").first()
    assert first is not None
    await Opportunity.create(
        campaign_id=campaign.pk,
        customer_id=person.pk,
        stage_id=first.pk,
        owner_id=manager.pk,
        name=person.name,
        probability=10,
        rank=keys_after(None, 1)[0],
        created_by_id=manager.pk,
    )


# --------------------------------------------------------------------------- measuring


@dataclass
class Subscriber:
    socket: Any
    expected: int
    received: list[tuple[int, float]] = field(default_factory=list)  # (seq, perf_counter)
    texts: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    keep_text: bool = False
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        try:
            async for text in self.socket:
                now = time.perf_counter()
                message = json.loads(text)
                kind = message.get("type")
                if kind == "ping":
                    await self.socket.send('{"type":"pong"}')
                    continue
                if kind == "pong":
                    continue
                if kind != "next" or message["payload"].get("errors"):
                    self.problems.append(text[:300])
                    continue
                seq = int(message["payload"]["data"]["campaignEvents"]["seq"])
                self.received.append((seq, now))
                if self.keep_text:
                    self.texts[seq] = text
                if len(self.received) >= self.expected:
                    self.done.set()
        except Exception as error:  # the socket closed under us: report it
            if not self.done.is_set():
                self.problems.append(f"reader ended: {error!r}")


@dataclass
class Result:
    side: str
    n: int
    events: int
    deliveries: int = 0
    wall: float = float("nan")
    p50: float = float("nan")
    p99: float = float("nan")
    max_latency: float = float("nan")
    p50_sent: float = float("nan")
    p99_sent: float = float("nan")
    mem_per_conn: float = float("nan")
    mem_open_per_conn: float = float("nan")  # before any event: what sockets and streams hold
    misses: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    problems: list[str] = field(default_factory=list)
    open_seconds: float = float("nan")
    trigger_seconds: float = float("nan")
    cpu_per_delivery_us: float = float("nan")
    sql_per_delivery: float = float("nan")
    sql_per_event: float = float("nan")
    sql_total: float = float("nan")
    idle_core: float = float("nan")
    probes: list[float] = field(default_factory=list)
    asked: int = 0
    texts: dict[int, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.deliveries / self.wall if self.wall > 0 else float("nan")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def open_subscribers(
    n: int, connect: Callable[[], Awaitable[Any]], expected: int
) -> tuple[list[Subscriber], list[str]]:
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    failures: list[str] = []

    async def one(index: int) -> Subscriber | None:
        async with gate:
            for attempt in range(3):
                try:
                    socket = await connect()
                    break
                except Exception as error:
                    if attempt == 2:
                        failures.append(f"subscriber {index}: {error!r}")
                        return None
                    await asyncio.sleep(0.5)
        sub = Subscriber(socket, expected, keep_text=index == 0)
        sub.task = asyncio.create_task(sub.read())
        return sub

    opened = await asyncio.gather(*(one(i) for i in range(n)))
    return [s for s in opened if s is not None], failures


@dataclass(frozen=True)
class Probe:
    """A simple request, timed by bench/probe.py: a POST of `body` (JSON), else a GET."""

    url: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def time_probes(probe: Probe, latencies: list[float]) -> Iterator[None]:
    """`probe` every PROBE_SECONDS while the context is open, each one's latency kept,
    from a process of its own (bench/probe.py says why)."""
    argv = [sys.executable, "-m", "bench.probe", probe.url, "--every", str(PROBE_SECONDS)]
    if probe.body is not None:
        argv += ["--json", json.dumps(probe.body)]
    for name, value in probe.headers.items():
        argv += ["--header", f"{name}: {value}"]
    with subprocess.Popen(
        argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as prober:
        try:
            yield
        finally:
            out, _ = prober.communicate(input="", timeout=60)  # its stdin closes: it stops
    if prober.returncode != 0:
        raise RuntimeError(f"bench.probe ended with status {prober.returncode}")
    latencies.extend(float(line) for line in out.split())


async def wait_all(crowd: Crowd | ChildCrowds, target: int, stall: float, cap: float) -> bool:
    """Until every subscriber has `target` messages; False on a stall or the cap."""
    started = time.monotonic()
    last_total, last_change = -1, time.monotonic()
    while True:
        total, lacking = await crowd.tally(target)
        if not lacking:
            return True
        now = time.monotonic()
        if total != last_total:
            last_total, last_change = total, now
        if now - last_change > stall or now - started > cap:
            return False
        await asyncio.sleep(0.05)


async def settled(count: Callable[[], Awaitable[int]]) -> int:
    """`count` once PostgreSQL's backends have reported their transactions: one that went
    idle less than a second after its last report reports up to 10 s later (PostgreSQL
    15's idle interval), so a count read at once can hold, say, the opening of 10,000
    subscriptions. Reads until two reads a second apart agree, or STATS_SETTLE_SECONDS."""
    value = await count()
    deadline = time.monotonic() + STATS_SETTLE_SECONDS
    while time.monotonic() < deadline:
        await asyncio.sleep(1.1)
        again = await count()
        if again == value:
            break
        value = again
    return value


async def close_all(subs: list[Subscriber]) -> None:
    async def one(sub: Subscriber) -> None:
        with suppress(Exception):
            await asyncio.wait_for(sub.socket.close(), 10)
        if sub.task is not None:
            sub.task.cancel()
            await asyncio.gather(sub.task, return_exceptions=True)

    await asyncio.gather(*(one(s) for s in subs))


async def phase(
    side: str,
    server: Server,
    n: int,
    events: int,
    dial: Dial,
    trigger: Callable[[int], Awaitable[None]],
    first_seq: Callable[[], Awaitable[int]],
    deadline: float | None = None,
    sql_count: Callable[[], Awaitable[int]] | None = None,
    pace: float | None = None,
    probe: Probe | None = None,
    processes: int = 1,
) -> Result:
    """N subscribers, 1 warm-up trigger (not timed), then `events` triggers one at a time
    (fewer when the time budget's `deadline`, a time.monotonic() value, passes first).
    Before the triggers, the server's CPU is measured while the N sit idle; during them,
    `probe` (a simple request) is timed every PROBE_SECONDS. With `processes` > 1 the
    subscribers are held by that many child processes (bench/crowd.py)."""
    from bench.crowd import ChildCrowds, Crowd

    result = Result(side, n, events, asked=events)
    await asyncio.sleep(1.0)  # let the previous phase's sockets finish closing
    rss_before = server.rss()
    start_seq = await first_seq()  # the seq the warm-up trigger will get
    expected = list(range(start_seq, start_seq + 1 + events))
    opened_at = time.perf_counter()
    crowd = await (
        ChildCrowds.open(dial, n, len(expected), processes)
        if processes > 1
        else Crowd.open(dial, n, len(expected))
    )
    result.problems += crowd.failures
    result.open_seconds = time.perf_counter() - opened_at
    await asyncio.sleep(
        1.0
    )  # let the server finish starting the streams the last sockets asked for
    result.mem_open_per_conn = (server.rss() - rss_before) / n
    try:
        # Warm-up: proves every subscription is live before the clock starts.
        await trigger(0)
        if not await wait_all(crowd, 1, STALL_SECONDS, READY_TIMEOUT):
            _, late = await crowd.tally(1)
            result.problems.append(f"warm-up: {late} subscribers got nothing")
        await asyncio.sleep(0.5)
        result.mem_per_conn = (server.rss() - rss_before) / n
        idle_from = server.cpu()
        await asyncio.sleep(IDLE_SECONDS)
        result.idle_core = (server.cpu() - idle_from) / IDLE_SECONDS
        sql_before = await settled(sql_count) if sql_count else 0
        cpu_before = server.cpu()
        responded: dict[int, float] = {}
        requested: dict[int, float] = {}
        sent_at = time.perf_counter()
        with time_probes(probe, result.probes) if probe else nullcontext():
            for i in range(1, events + 1):
                if deadline is not None and time.monotonic() > deadline:
                    break
                if pace:
                    await asyncio.sleep(max(0.0, sent_at + (i - 1) / pace - time.perf_counter()))
                requested[start_seq + i] = time.perf_counter()
                await trigger(i)
                responded[start_seq + i] = time.perf_counter()
        result.trigger_seconds = time.perf_counter() - sent_at
        result.events = len(responded)
        expected = expected[: 1 + result.events]
        await crowd.expect(len(expected))
        complete = await wait_all(crowd, len(expected), STALL_SECONDS, 240.0)
        await asyncio.sleep(0.3)  # room for a duplicate to show up
        result.cpu_per_delivery_us = (server.cpu() - cpu_before) * 1e6
        if sql_count:
            result.sql_total = await settled(sql_count) - sql_before
        if not complete:
            result.problems.append(
                f"stalled: no new delivery for {STALL_SECONDS:.0f} s after the last trigger"
            )

        latencies: list[float] = []
        from_sent: list[float] = []
        last_receipt = sent_at
        subs = await crowd.results()
        for sub in subs:
            seqs = [seq for seq, _ in sub.received]
            if seqs != expected:
                seen = set(seqs)
                result.misses += sum(1 for seq in expected if seq not in seen)
                result.duplicates += len(seqs) - len(seen)
                result.out_of_order += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
            for seq, at in sub.received:
                if seq in responded:
                    latencies.append(at - responded[seq])
                    from_sent.append(at - requested[seq])
                    last_receipt = max(last_receipt, at)
            result.problems += sub.problems[:3]
        result.misses += (n - len(subs)) * len(expected)
        result.deliveries = len(latencies)
        result.wall = last_receipt - sent_at
        result.p50 = percentile(latencies, 0.50)
        result.p99 = percentile(latencies, 0.99)
        result.max_latency = max(latencies) if latencies else float("nan")
        result.p50_sent = percentile(from_sent, 0.50)
        result.p99_sent = percentile(from_sent, 0.99)
        if result.deliveries:
            result.cpu_per_delivery_us /= result.deliveries
            result.sql_per_delivery = result.sql_total / result.deliveries
            result.sql_per_event = result.sql_total / max(1, result.events)
        else:
            result.sql_per_delivery = result.cpu_per_delivery_us = float("nan")
        if subs:
            result.texts = subs[0].texts
    finally:
        await crowd.close()
    return result


# --------------------------------------------------------------------------- the two sides


@dataclass
class Board:
    token: str
    campaign_id: str
    stage_ids: list[str]
    card_id: str


async def board(base: str, token: str) -> tuple[Board, str]:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        body = (
            await http.post(
                "/graphql",
                json={"query": BOARD},
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()
    node = body["data"]["campaigns"]["edges"][0]["node"]
    cards = [e["node"]["id"] for s in node["stages"] for e in s["opportunities"]["edges"]]
    return Board(token, node["id"], [s["id"] for s in node["stages"]], cards[0]), node[
        "lastEventCursor"
    ]


async def login(base: str) -> str:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        body = (
            await http.post(
                "/graphql", json={"query": LOGIN, "variables": {"e": EMAIL, "p": PASSWORD}}
            )
        ).json()
    return str(body["data"]["login"]["token"])


async def funnelgraph_phase(
    server: Server,
    db_url: str,
    n: int,
    events: int,
    deadline: float | None,
    pace: float | None = None,
    processes: int = 1,
) -> Result:
    import httpx

    from bench.crowd import Dial
    from resolvers.ids import decode_id

    token = await login(server.base)
    info, cursor = await board(server.base, token)
    campaign_pk = decode_id(info.campaign_id, "Campaign")
    variables = {"c": info.campaign_id, "lastEventCursor": cursor}

    async def first_seq() -> int:
        connection = await asyncpg.connect(db_url)
        try:
            value = await connection.fetchval(
                "SELECT event_seq FROM campaign WHERE id = $1", campaign_pk
            )
        finally:
            await connection.close()
        return int(value) + 1

    async def sql_count() -> int:
        """Transactions committed in the scratch database: with no explicit transaction,
        one per SQL statement (approximate: statistics arrive up to ~1 s late)."""
        connection = await asyncpg.connect(db_url)
        try:
            value = await connection.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()"
            )
        finally:
            await connection.close()
        return int(value)

    async with httpx.AsyncClient(
        base_url=server.base, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        # Back and forth between the second and third stage (the card starts in the first).
        async def trigger(i: int) -> None:
            target = info.stage_ids[1 + i % 2]
            response = await http.post(
                "/graphql",
                json={"query": MOVE, "variables": {"i": {"id": info.card_id, "stageId": target}}},
            )
            body = response.json()
            if body.get("errors") or response.status_code != 200:
                raise RuntimeError(f"moveOpportunity failed: {body}")

        result = await phase(
            "funnelgraph",
            server,
            n,
            events,
            Dial(server.base, token, variables),
            trigger,
            first_seq,
            deadline,
            sql_count,
            pace,
            Probe(
                f"{server.base}/graphql",
                {"query": "{ me { id name } }"},
                {"Authorization": f"Bearer {token}"},
            ),
            processes,
        )
    # Each event must be the move that was sent: toStage alternates with the trigger.
    for seq, text in result.texts.items():
        payload = json.loads(text)["payload"]["data"]["campaignEvents"]["payload"]
        want = info.stage_ids[1 + (seq - min(result.texts)) % 2]
        if payload.get("toStage", {}).get("id") != want:
            result.problems.append(f"seq {seq} carries {payload}, expected toStage {want}")
            break
    return result


def synthetic_text(seq: int) -> str:
    event = {
        "seq": seq,
        "payload": {
            "__typename": "OpportunityMoved",
            "opportunityId": "T3Bwb3J0dW5pdHk6MQ==",
            "toStage": {"id": "U3RhZ2U6Mg=="},
            "afterId": None,
        },
    }
    return json.dumps(
        {"id": "1", "type": "next", "payload": {"data": {"campaignEvents": event}}},
        separators=(",", ":"),
    )


async def baseline_phase(
    server: Server,
    n: int,
    events: int,
    texts: dict[int, str],
    pace: float | None = None,
    processes: int = 1,
) -> Result:
    """The same triggers, carrying the exact texts a GraphQL subscriber got (seq renumbered
    from 1 only when the GraphQL side captured nothing)."""
    import httpx

    from bench.crowd import Dial

    ordered = [texts[seq] for seq in sorted(texts)][: events + 1]
    if len(ordered) < events + 1:
        ordered = [synthetic_text(seq) for seq in range(1, events + 2)]
    start = json.loads(ordered[0])["payload"]["data"]["campaignEvents"]["seq"]
    url = server.base.replace("http://", "ws://") + "/ws"

    async def first_seq() -> int:
        return int(start)

    async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:

        async def trigger(i: int) -> None:
            response = await http.post("/trigger", content=ordered[i].encode())
            response.raise_for_status()

        return await phase(
            "baseline",
            server,
            n,
            events,
            Dial(url),
            trigger,
            first_seq,
            pace=pace,
            probe=Probe(f"{server.base}/healthz"),
            processes=processes,
        )


# --------------------------------------------------------------------------- report


def fmt_ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def ratio(a: float, b: float) -> str:
    if math.isnan(a) or math.isnan(b) or b <= 0:
        return "n/a"
    return f"{a / b:.2f}x"


def report_phase(r: Result) -> None:
    sql = (
        ""
        if math.isnan(r.sql_per_delivery)
        else f", ~{r.sql_per_event:.1f} SQL xacts/event (mutation included), "
        f"~{r.sql_per_delivery:.3f}/delivery"
    )
    print(
        f"  {r.side:<11} N={r.n:<5} opened in {r.open_seconds:5.1f} s | "
        f"{r.events} triggers sent in {r.trigger_seconds:6.2f} s"
        f"{'' if r.events == r.asked else f' (of {r.asked}: time budget)'} | "
        f"{r.deliveries} deliveries in {r.wall:6.2f} s = {r.rate:9.0f}/s | "
        f"p50 {fmt_ms(r.p50)}  p99 {fmt_ms(r.p99)}  max {fmt_ms(r.max_latency)} "
        f"(from request sent: p50 {fmt_ms(r.p50_sent)}  p99 {fmt_ms(r.p99_sent)}) | "
        f"{r.mem_open_per_conn / 1024:6.1f} KiB/conn open, "
        f"{r.mem_per_conn / 1024:6.1f} after an event | idle {100 * r.idle_core:4.1f}% of a core | "
        f"simple request while sending: p99 {fmt_ms(percentile(r.probes, 0.99))} "
        f"({len(r.probes)} probes) | "
        f"server CPU {r.cpu_per_delivery_us:6.1f} us/delivery{sql} | "
        f"misses {r.misses} dup {r.duplicates} reordered {r.out_of_order}",
        flush=True,
    )
    for problem in r.problems[:8]:
        print(f"    ! {problem}", flush=True)
    if len(r.problems) > 8:
        print(f"    ! ... and {len(r.problems) - 8} more", flush=True)


def report(pairs: list[tuple[Result, Result]]) -> None:
    print()
    print("Latency = subscriber receipt time - arrival of the trigger's HTTP response (the")
    print("mutation had committed, and published to Redis, just before it answered). In one")
    print("client process, client and trigger share one event loop, so a fan-out faster than")
    print("that loop's next turn can show ~0 or slightly negative latency (baseline); 'sent'")
    print("columns measure from the request.")
    print("events/s = deliveries of the timed events / (last receipt - first trigger sent).")
    print("KiB/conn = (server RSS with N subscribed - RSS before) / N: 'open' before any event")
    print("(what sockets and streams hold), 'after' once the warm-up event went to all N (adds")
    print("what the allocator kept of that burst's buffers).")
    print()
    header = (
        f"{'N':>5} {'side':<12} {'E':>4} {'events/s':>10} {'p50':>10} {'p99':>10} "
        f"{'p50 sent':>10} {'p99 sent':>10} {'KiB open':>9} {'KiB after':>9} {'misses':>7}"
    )
    print(header)
    print("-" * len(header))
    for fg, base in pairs:
        for r in (fg, base):
            print(
                f"{r.n:>5} {r.side:<12} {r.events:>4} {r.rate:>10.0f} "
                f"{fmt_ms(r.p50):>10} {fmt_ms(r.p99):>10} "
                f"{fmt_ms(r.p50_sent):>10} {fmt_ms(r.p99_sent):>10} "
                f"{r.mem_open_per_conn / 1024:>9.1f} {r.mem_per_conn / 1024:>9.1f} {r.misses:>7}"
            )
        print(
            f"{fg.n:>5} {'fg/baseline':<12} {'':>4} {ratio(fg.rate, base.rate):>10} "
            f"{ratio(fg.p50, base.p50):>10} {ratio(fg.p99, base.p99):>10} "
            f"{ratio(fg.p50_sent, base.p50_sent):>10} {ratio(fg.p99_sent, base.p99_sent):>10} "
            f"{ratio(fg.mem_open_per_conn, base.mem_open_per_conn):>9} "
            f"{ratio(fg.mem_per_conn, base.mem_per_conn):>9} {'':>7}"
        )
    print()
    bad = [r for pair in pairs for r in pair if r.misses or r.duplicates or r.out_of_order]
    if bad:
        print("every subscriber got every seq exactly once, in order: NO")
    else:
        print("every subscriber got every seq exactly once, in order: yes (misses 0)")


# --------------------------------------------------------------------------- main


def raise_open_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))


async def measure(
    fg_server: Server,
    base_server: Server,
    db_url: str,
    sizes: list[int],
    events: int,
    budget_end: float,
    pace: float | None = None,
    rounds: int = 1,
    processes: int = 1,
) -> list[tuple[Result, Result]]:
    # Prime both servers (first-use allocations, caches, the hub's channel task) so that
    # the first measured size does not pay for them in memory per connection.
    primed = await funnelgraph_phase(fg_server, db_url, PRIME_SUBSCRIBERS, 2, None)
    await baseline_phase(base_server, PRIME_SUBSCRIBERS, 2, primed.texts)
    pairs = []
    turns = [n for n in sizes for _ in range(rounds)]  # each size's rounds in a row
    for index, n in enumerate(turns):
        # Leave room for what follows: this turn's drain and baseline, then the later turns.
        deadline = budget_end - RESERVE_SECONDS * (len(turns) - index)
        fg = await funnelgraph_phase(fg_server, db_url, n, events, deadline, pace, processes)
        report_phase(fg)
        # The baseline replays exactly the events the GraphQL side sent.
        base = await baseline_phase(base_server, n, fg.events, fg.texts, pace, processes)
        report_phase(base)
        pairs.append((fg, base))
    return pairs


def report_medians(pairs: list[tuple[Result, Result]]) -> None:
    """With several rounds per size: each ratio's rounds, and their median."""
    sizes = list(dict.fromkeys(fg.n for fg, _ in pairs))
    for n in sizes:
        mine = [(fg, base) for fg, base in pairs if fg.n == n]
        if len(mine) < 2:
            continue
        for label, attribute in (("events/s", "rate"), ("p99", "p99"), ("p99 sent", "p99_sent")):
            ratios = [
                getattr(fg, attribute) / getattr(base, attribute)
                for fg, base in mine
                if getattr(base, attribute) > 0
            ]
            if ratios:
                rounds = " ".join(f"{value:.2f}x" for value in ratios)
                print(
                    f"N={n} {label} fg/baseline by round (each beside its own baseline): "
                    f"{rounds}; median {statistics.median(ratios):.2f}x"
                )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument(
        "--pace", type=float, default=None, help="at most this many triggers per second"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternating funnelgraph/baseline rounds per size; medians of their ratios",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=270.0,
        help="seconds for the whole run (default 270): a funnelgraph run stops sending "
        "triggers early when it would overrun, and the baseline then sends as many",
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=1,
        help="child processes holding the subscribers (bench/crowd.py); default 1: this "
        "process, which reads about 19,000 frames/s here",
    )
    args = parser.parse_args(argv)
    raise_open_file_limit(2 * max(args.subscribers) + 512)

    from tests.live import FUNNELGRAPH, redis_server

    started = time.perf_counter()
    budget_end = time.monotonic() + args.budget
    with redis_server() as redis, scratch_database() as db_url:
        asyncio.run(seed(db_url))
        fg_env = production_env(db_url, redis.url, SECRET)
        uvicorn = baseline_argv("bench.fanout:baseline_app")
        with (
            running([FUNNELGRAPH, "serve"], fg_env, "funnelgraph") as fg_server,
            running(uvicorn, clean_env(), "baseline") as base_server,
        ):
            print(
                f"funnelgraph serve: pid {fg_server.pid} on {fg_server.base} (PostgreSQL "
                f"scratch db, redis-server :{redis.port}); baseline Starlette: pid "
                f"{base_server.pid} on {base_server.base}; {os.cpu_count()} CPUs; "
                f"{args.events} timed events per run (+1 warm-up); subscribers held by "
                f"{args.client_processes} client process(es)",
                flush=True,
            )
            try:
                pairs = run_loop(
                    measure(
                        fg_server,
                        base_server,
                        db_url,
                        args.subscribers,
                        args.events,
                        budget_end,
                        args.pace,
                        args.rounds,
                        args.client_processes,
                    )
                )
            finally:
                tail = fg_server.log_tail(15)
                errors = [line for line in tail.splitlines() if "Error" in line or "Trace" in line]
                if errors:
                    print("funnelgraph server log (tail):\n" + tail)
    report(pairs)
    report_medians(pairs)
    print(f"total run time {time.perf_counter() - started:.0f} s")


def run_loop(coro: Awaitable[Any]) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
