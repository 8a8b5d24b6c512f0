"""Endurance: what one server process keeps after websocket churn, and how it shuts down.

Creates a scratch PostgreSQL database and a private redis-server, seeds one
campaign with a few hundred events, starts one real `funnelgraph serve`, then for
--seconds opens and closes websockets in every way a client leaves, while a card
moves a few times a second:

- bare: connect, close before `connection_init`;
- init: `connection_init`, ack, close;
- replay: subscribe from the log's start, close after the first event (mid-replay);
- live: subscribe from the head, close after one live event;
- reset: subscribe, then drop the TCP connection without a close frame.

Prints the server's RSS at start, after the load and after --idle seconds with no
load, the tracebacks in its log, and how long SIGTERM takes to end it.

Run: `python -m bench.soak [--seconds 300] [--idle 30] [--concurrency 20]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import signal
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

from bench.fanout import (
    SUBSCRIPTION,
    board,
    clean_env,
    login,
    running,
    scratch_database,
    seed,
)

SEED_EVENTS = 300
MOVE = """
mutation Move($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id } }
"""


async def moves(
    base: str,
    token: str,
    stage_ids: list[str],
    card: str,
    stop: asyncio.Event,
    count: int | None = None,
    per_second: float = 5.0,
) -> int:
    done = 0
    async with httpx.AsyncClient(
        base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        for i in itertools.count():
            if stop.is_set() or (count is not None and done >= count):
                return done
            variables = {"i": {"id": card, "stageId": stage_ids[1 + i % 2]}}
            with suppress(httpx.HTTPError):
                await http.post("/graphql", json={"query": MOVE, "variables": variables})
                done += 1
            if count is None:
                await asyncio.sleep(1 / per_second)
    return done


async def session(
    url: str, token: str, kind: str, variables: dict[str, Any], start_cursor: str
) -> None:
    import websockets

    socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    try:
        if kind == "bare":
            return
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        await asyncio.wait_for(socket.recv(), 10)
        if kind == "init":
            return
        after = start_cursor if kind in ("replay", "reset") else variables["lastEventCursor"]
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": SUBSCRIPTION,
                        "variables": {**variables, "lastEventCursor": after},
                    },
                }
            )
        )
        if kind == "reset":
            await asyncio.sleep(0.01)
            socket.transport.abort()
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(socket.recv(), 10)
    finally:
        with suppress(Exception):
            await asyncio.wait_for(socket.close(), 5)


async def churn(
    base: str, token: str, info: Any, start_cursor: str, seconds: float, concurrency: int
) -> Counter[str]:
    url = base.replace("http://", "ws://") + "/graphql"
    kinds = ["bare", "init", "replay", "live", "reset"]
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    async def worker(seed_: int) -> None:
        rng = random.Random(seed_)
        while time.monotonic() < deadline:
            _, cursor = await board(base, token)
            variables = {"c": info.campaign_id, "lastEventCursor": cursor}
            kind = rng.choice(kinds)
            try:
                await session(url, token, kind, variables, start_cursor)
                counts[kind] += 1
            except Exception as error:
                counts[f"failed {type(error).__name__}"] += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return counts


async def soak(base: str, server: Any, seconds: float, idle: float, concurrency: int) -> None:
    token = await login(base)
    info, start_cursor = await board(base, token)
    stop = asyncio.Event()
    await moves(base, token, info.stage_ids, info.card_id, stop, count=SEED_EVENTS)
    await asyncio.sleep(2)
    rss_start = server.rss()
    mover = asyncio.create_task(moves(base, token, info.stage_ids, info.card_id, stop))
    started = time.monotonic()
    counts = await churn(base, token, info, start_cursor, seconds, concurrency)
    stop.set()
    moved = await mover
    rss_loaded = server.rss()
    await asyncio.sleep(idle)
    rss_idle = server.rss()
    total = sum(v for k, v in counts.items() if not k.startswith("failed"))
    print(
        f"sessions: {total} in {time.monotonic() - started:.0f} s ({dict(counts)}), "
        f"{moved} moves during the load"
    )
    print(
        f"RSS start {rss_start / 2**20:.0f} MB, after load {rss_loaded / 2**20:.0f} MB, "
        f"after {idle:.0f} s idle {rss_idle / 2**20:.0f} MB "
        f"({(rss_idle - rss_start) / max(total, 1) / 1024:.1f} KiB per session kept)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--idle", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--keep-log", help="copy the server's log to this file")
    args = parser.parse_args(argv)
    from bench.fanout import SECRET
    from tests.live import FUNNELGRAPH, redis_server

    with scratch_database() as db_url, redis_server() as redis:
        redis_url = redis.url
        asyncio.run(seed(db_url))
        env = clean_env(
            DATABASE_URL=db_url,
            REDIS_URL=redis_url,
            SECRET_KEY=SECRET,
            OPERATIONS_PER_SECOND="100000",
            MAX_CONNECTIONS_PER_USER="100000",
        )
        argv_ = [FUNNELGRAPH, "serve"]
        with running(argv_, env, "soak") as server:
            asyncio.run(soak(server.base, server, args.seconds, args.idle, args.concurrency))
            log = server.log.read_text(errors="replace")
            if args.keep_log:
                Path(args.keep_log).write_text(log)
            tracebacks = log.count("Traceback (most recent call last)")
            print(f"tracebacks in the server log: {tracebacks}")
            endings = Counter(
                ln
                for ln in log.splitlines()
                if ln and not ln[0].isspace() and "Traceback" not in ln
            )
            for line, count in endings.most_common(8):
                print(f"  {count:5d} {line[:160]}")
            import os

            began = time.monotonic()
            os.kill(server.pid, signal.SIGTERM)
            with suppress(Exception):
                import psutil

                psutil.Process(server.pid).wait(timeout=60)
            print(f"SIGTERM to exit: {time.monotonic() - began:.1f} s")


if __name__ == "__main__":
    main()
