"""What the column totals in card events cost a move, measured in one run: two
`funnelgraph serve` processes (production settings) on one scratch PostgreSQL database
and one private Redis, the same code, one as shipped and one that logs card events
without their totals (bench/serve_without_totals.py). The moves of bench.requests
(CONCURRENCY clients on one campaign, then across MOVE_CAMPAIGNS campaigns, then one
client alone) go to each in turn, alternating, round after round; medians reported.

Run: `python -m bench.totals_cost [--rounds 5] [--seconds 5]` (PostgreSQL: on SQLite
the totals are read another way).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import httpx

from bench.fanout import Server, production_env, run_loop, running, scratch_database
from bench.requests import (
    CONCURRENCY,
    SECRET,
    SOLO_MOVES,
    Moves,
    Seeded,
    move_load,
    mover,
    seed,
    token_for,
)

WITH, WITHOUT = "with totals", "without"


async def compare(
    servers: dict[str, Server], token: str, seeded: Seeded, rounds: int, seconds: float
) -> None:
    senders = {name: mover(server, token) for name, server in servers.items()}
    one = seeded.move_campaigns[:1]
    loads: dict[tuple[str, str], list[Moves]] = {}
    for _ in range(rounds):
        for label, lanes in (("one campaign", one), ("many campaigns", seeded.move_campaigns)):
            for name, send in senders.items():
                result = await move_load(send, lanes, seconds)
                loads.setdefault((label, name), []).append(result)
                print(
                    f"  {label:<15} {name:<12} {result.rate:7.1f} moves/s  p50 "
                    f"{result.p50 * 1000:6.1f} ms",
                    flush=True,
                )
    solo: dict[str, list[float]] = {name: [] for name in senders}
    campaign, stages, cards = one[0]
    async with httpx.AsyncClient(timeout=60) as http:
        for n in range(SOLO_MOVES):
            for name, send in senders.items():
                started = time.perf_counter()
                await send(http, campaign, cards[n % len(cards)], stages[n % len(stages)], 0)
                solo[name].append(time.perf_counter() - started)
    print(f"\nmoves, {CONCURRENCY} clients, medians of {rounds} turns each:")
    for label in ("one campaign", "many campaigns"):
        rate, before = (
            statistics.median(r.rate for r in loads[(label, name)]) for name in (WITH, WITHOUT)
        )
        print(
            f"  {label:<15} {WITH} {rate:6.0f}/s, {WITHOUT} {before:6.0f}/s: "
            f"{(1 - rate / before) * 100:5.1f}% slower with totals (target <= 20%)"
        )
    ours, before_p50 = (statistics.median(solo[name]) * 1000 for name in (WITH, WITHOUT))
    print(f"  one client      p50 {WITH} {ours:.1f} ms, {WITHOUT} {before_p50:.1f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.totals_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)

    from tests.live import FUNNELGRAPH, redis_server

    with redis_server() as redis, scratch_database() as db_url:
        seeded = run_loop(seed(db_url))
        env = production_env(db_url, redis.url, SECRET)
        without_argv = [sys.executable, "-m", "bench.serve_without_totals", "serve"]
        with (
            running([FUNNELGRAPH, "serve"], env, "with-totals") as shipped,
            running(without_argv, env, "without-totals") as without,
        ):
            print(f"{WITH}: pid {shipped.pid}; {WITHOUT}: pid {without.pid}; {args.rounds} rounds")
            servers = {WITH: shipped, WITHOUT: without}
            run_loop(
                compare(servers, token_for(seeded.viewer_pk), seeded, args.rounds, args.seconds)
            )


if __name__ == "__main__":
    main()
