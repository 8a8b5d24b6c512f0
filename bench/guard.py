"""What the hardening costs per operation, beside what the stack spends anyway.

- The operation guard (size, cost and input-limit walks) on the board query, beside
  graphql-core's own validation of the same document (which every new document pays).
- The same walks on a fragment bomb (2**30 fields once expanded), beside Strawberry's
  alias limiter alone on a far smaller bomb (2**16): why the guard runs first.
- One rate-limit count in Redis, beside a bare PING on the same server.

Run: `python -m bench.guard` (needs redis-server on PATH; starts a private one).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

from graphql import (
    FragmentDefinitionNode,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from redis.asyncio import Redis
from strawberry.extensions.max_aliases import count_fields_with_alias

from bench.board import BOARD
from realtime.limit_store import RedisLimitStore
from schema.input_limits import check_input_limits
from schema.operation_cost import measure
from schema.schema import build_schema
from tests.live import redis_server

RUNS = 2000


def timed(action: Callable[[], object], runs: int = RUNS) -> float:
    """Median microseconds per call."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def bomb(levels: int) -> str:
    fragments = ["fragment F0 on User { a: id b: name }"]
    fragments += [f"fragment F{i} on User {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)]
    return f"{{ me {{ ...F{levels - 1} }} }} " + " ".join(fragments)


def walks() -> None:
    schema = build_schema()._schema
    board = parse(BOARD)
    variables = {"id": "Q2FtcGFpZ246MQ"}

    def guard() -> None:
        measure(schema, board, variables)
        check_input_limits(schema, board, variables)

    guard_us = timed(guard)
    validate_us = timed(lambda: validate(schema, board, specified_rules), runs=500)
    print("board query, per operation")
    print(f"  guard (size, cost, input limits): {guard_us:8.1f} us")
    print(f"  graphql-core validation (baseline): {validate_us:8.1f} us")
    print(f"  ratio guard / validation: {guard_us / validate_us:.2f}x")

    big = parse(bomb(31))
    bomb_us = timed(lambda: measure(schema, big, {}), runs=200)
    small = parse(bomb(17))
    operation, *definitions = small.definitions
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    assert isinstance(operation, OperationDefinitionNode)
    started = time.perf_counter()
    aliases = count_fields_with_alias(operation, fragments)
    strawberry_ms = (time.perf_counter() - started) * 1000
    print("fragment bomb")
    print(f"  guard measures 2**30 fields in: {bomb_us:8.1f} us")
    print(f"  Strawberry's alias count on 2**16 ({aliases} aliases): {strawberry_ms:8.1f} ms")
    print(f"  ratio: {strawberry_ms * 1000 / bomb_us:.0f}x on a 16,384x smaller bomb")


async def redis_costs(url: str) -> None:
    redis = Redis.from_url(url)
    store = RedisLimitStore(redis)
    samples: dict[str, list[float]] = {"ping": [], "hit": []}
    for number in range(RUNS):
        started = time.perf_counter()
        await redis.ping()
        samples["ping"].append(time.perf_counter() - started)
        started = time.perf_counter()
        await store.hit(f"ops:bench:{number // 100}", 2)
        samples["hit"].append(time.perf_counter() - started)
    await redis.aclose()
    ping = statistics.median(samples["ping"]) * 1e6
    hit = statistics.median(samples["hit"]) * 1e6
    print("rate limit in Redis, per operation")
    print(f"  count one operation (INCR+EXPIRE+PTTL): {hit:8.1f} us")
    print(f"  bare PING (baseline): {ping:8.1f} us")
    print(f"  ratio: {hit / ping:.2f}x")


def main() -> None:
    walks()
    with redis_server() as redis:
        asyncio.run(redis_costs(redis.url))


if __name__ == "__main__":
    main()
