"""The Kanban board read, through the real ASGI app, beside hand-written asyncpg SQL.

Creates a scratch PostgreSQL database (dropped at the end), migrates it, builds
one campaign of 10 steps x 500 cards, then times the board query N times after
a warm-up. Run: `python -m bench.board` (BENCH_POSTGRES_URL names the server's
admin database; default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from bench.fanout import scratch_database
from models import Campaign, CampaignMember, Customer, Opportunity, Permission, Stage, User
from models.database import apply_migrations
from models.ranking import keys_after
from resolvers.ids import encode_id
from server.app import create_app
from server.auth import JwtTokens
from server.settings import Environment, Settings

SECRET = "bench-secret-key-that-is-long-enough-for-hs256"
STEPS = 10
CARDS_PER_STEP = 500
OWNERS = 20
PAGE = 200
RUNS = 50
WARM_UP = 5

BOARD = """
query Board($id: ID!) {
  campaign(id: $id) {
    stages {
      name
      opportunityCount
      opportunities(first: 200) {
        edges { node { id name rank probability amount owner { name } customer { name } } }
      }
    }
  }
}
"""

VIEWER_SQL = 'SELECT id, name, permission_names FROM "user" WHERE id = $1'
CAMPAIGN_SQL = "SELECT id, manager_id FROM campaign WHERE id = $1"
STAGES_SQL = """
SELECT s.id, s.name, count(o.id) AS card_count
FROM stage s LEFT JOIN opportunity o ON o.stage_id = s.id
WHERE s.campaign_id = $1
GROUP BY s.id, s.name, s.position
ORDER BY s.position
"""
CARDS_SQL = f"""
SELECT page.* FROM (
  SELECT o.id, o.stage_id, o.name, o.rank, o.probability, o.amount,
         u.name AS owner_name, c.name AS customer_name,
         ROW_NUMBER() OVER (PARTITION BY o.stage_id ORDER BY o.rank, o.id) AS board_row
  FROM opportunity o
  JOIN customer c ON c.id = o.customer_id
  LEFT JOIN "user" u ON u.id = o.owner_id
  WHERE o.campaign_id = $1
) AS page
WHERE page.board_row <= {PAGE}
ORDER BY page.stage_id, page.rank, page.id
"""
BASELINE_QUERIES = 4

_counting: ContextVar[bool] = ContextVar("counting_sql", default=False)


class _StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if _counting.get():
            self.count += 1


@contextmanager
def counted_sql() -> Iterator[_StatementCounter]:
    """Counts the statements Tortoise sends from this task and the tasks it starts."""
    logger = logging.getLogger("tortoise.db_client")
    counter = _StatementCounter()
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    token = _counting.set(True)
    try:
        yield counter
    finally:
        _counting.reset(token)
        logger.removeHandler(counter)
        logger.setLevel(level)


@dataclass(frozen=True)
class Timing:
    samples: list[float]
    queries: int
    body: bytes

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def build_board() -> tuple[User, Campaign]:
    """A manager and a campaign of STEPS x CARDS_PER_STEP cards with owners and customers."""
    manager = await User.create(
        email="manager@bench.test",
        name="Bench Manager",
        password_hash="-",
        permission_names=[Permission.OPPORTUNITY_ACCESS.value],
    )
    campaign = await Campaign.create(code="BENCH", name="Bench", manager_id=manager.pk)
    await User.bulk_create(
        [
            User(email=f"owner{n}@bench.test", name=f"Owner {n}", password_hash="-")
            for n in range(OWNERS)
        ]
    )
    owners = await User.filter(email__startswith="owner").order_by("id")
    await CampaignMember.bulk_create(
        [
            CampaignMember(campaign_id=campaign.pk, user_id=owner.pk, position=n)
            for n, owner in enumerate(owners)
        ]
    )
    await Stage.bulk_create(
        [Stage(campaign_id=campaign.pk, name=f"Step {n}", position=n) for n in range(STEPS)]
    )
    stages = await Stage.filter(campaign_id=campaign.pk).order_by("position")
    await Customer.bulk_create(
        [Customer(name=f"Customer {n:05d}") for n in range(STEPS * CARDS_PER_STEP)],
        batch_size=1000,
    )
    customers = iter(await Customer.all().order_by("id"))
    chooser = random.Random(5)
    cards = []
    for stage in stages:
        ranks = keys_after(None, CARDS_PER_STEP)
        chooser.shuffle(ranks)
        for n, rank in enumerate(ranks):
            customer = next(customers)
            cards.append(
                Opportunity(
                    campaign_id=campaign.pk,
                    customer_id=customer.pk,
                    stage_id=stage.pk,
                    owner_id=owners[n % OWNERS].pk if n % 5 else None,
                    name=customer.name,
                    probability=chooser.randrange(0, 101),
                    amount=Decimal(chooser.randrange(0, 10_000_00)) / 100 if n % 3 else None,
                    rank=rank,
                )
            )
    await Opportunity.bulk_create(cards, batch_size=1000)
    return manager, campaign


async def timed(run: Callable[[], Awaitable[tuple[int, bytes]]]) -> Timing:
    for _ in range(WARM_UP):
        await run()
    samples, query_counts = [], set()
    body = b""
    for _ in range(RUNS):
        started = time.perf_counter()
        queries, body = await run()
        samples.append(time.perf_counter() - started)
        query_counts.add(queries)
    # The viewer's row is read again at most once a second (resolvers/viewers.py): a run
    # may make one query more than the others.
    return Timing(samples, min(query_counts), body)


async def measure_graphql(settings: Settings, viewer: User, campaign: Campaign) -> Timing:
    app = create_app(settings)
    token = JwtTokens(settings.secret_key, settings.token_ttl_seconds).issue(viewer).token
    payload = {"query": BOARD, "variables": {"id": encode_id("Campaign", campaign.pk)}}
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def run() -> tuple[int, bytes]:
                with counted_sql() as counter:
                    response = await http.post("/graphql", json=payload, headers=headers)
                response.raise_for_status()
                return counter.count, response.content

            return await timed(run)


async def baseline_board(connection: asyncpg.Connection, viewer_pk: int, campaign_pk: int) -> str:
    """The board's JSON from hand-written SQL: the same rows, the same shape."""
    viewer = await connection.fetchrow(VIEWER_SQL, viewer_pk)
    campaign = await connection.fetchrow(CAMPAIGN_SQL, campaign_pk)
    if viewer is None or campaign is None or campaign["manager_id"] != viewer["id"]:
        raise RuntimeError("the bench viewer must manage the bench campaign")
    stages = await connection.fetch(STAGES_SQL, campaign_pk)
    edges: dict[int, list[dict[str, Any]]] = {stage["id"]: [] for stage in stages}
    for row in await connection.fetch(CARDS_SQL, campaign_pk):
        amount = row["amount"]
        owner = row["owner_name"]
        edges[row["stage_id"]].append(
            {
                "node": {
                    "id": encode_id("Opportunity", row["id"]),
                    "name": row["name"],
                    "rank": row["rank"],
                    "probability": row["probability"],
                    "amount": None if amount is None else str(amount),
                    "owner": None if owner is None else {"name": owner},
                    "customer": {"name": row["customer_name"]},
                }
            }
        )
    board = [
        {
            "name": stage["name"],
            "opportunityCount": stage["card_count"],
            "opportunities": {"edges": edges[stage["id"]]},
        }
        for stage in stages
    ]
    return json.dumps({"data": {"campaign": {"stages": board}}}, separators=(",", ":"))


async def measure_baseline(url: str, viewer_pk: int, campaign_pk: int) -> Timing:
    connection = await asyncpg.connect(url)
    try:

        async def run() -> tuple[int, bytes]:
            return BASELINE_QUERIES, (
                await baseline_board(connection, viewer_pk, campaign_pk)
            ).encode()

        return await timed(run)
    finally:
        await connection.close()


def report(graphql: Timing, baseline: Timing) -> None:
    same = json.loads(graphql.body) == json.loads(baseline.body)
    cards = STEPS * CARDS_PER_STEP
    print(
        f"board: {STEPS} steps x {CARDS_PER_STEP} cards ({cards} cards, "
        f"{STEPS * min(PAGE, CARDS_PER_STEP)} on the board), {OWNERS} owners; "
        f"{RUNS} runs after {WARM_UP} warm-up"
    )
    for label, timing in (
        ("GraphQL (ASGI, in-process)", graphql),
        ("baseline (asyncpg)", baseline),
    ):
        print(
            f"{label:<28} p50 {timing.percentile(0.5) * 1000:8.1f} ms   "
            f"p95 {timing.percentile(0.95) * 1000:8.1f} ms   "
            f"SQL queries {timing.queries:2d}   response {len(timing.body):,} bytes"
        )
    ratio = graphql.percentile(0.5) / baseline.percentile(0.5)
    print(f"ratio GraphQL p50 / baseline p50: {ratio:.1f}x")
    print(f"same data in both responses: {'yes' if same else 'NO'}")


def in_process_settings(url: str) -> Settings:
    """The app's settings for a bench that runs it in this process: development mode on
    the scratch database, no Redis, no registration check while it measures."""
    return Settings(
        database_url=url,
        redis_url=None,
        secret_key=SECRET,
        environment=Environment.DEVELOPMENT,
        token_ttl_seconds=3600,
        allowed_origins=(),
        registration_check_seconds=3600,
    )


async def run(url: str) -> None:
    await apply_migrations(url)
    settings = in_process_settings(url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        viewer, campaign = await build_board()
    graphql = await measure_graphql(settings, viewer, campaign)
    baseline = await measure_baseline(url, viewer.pk, campaign.pk)
    report(graphql, baseline)


if __name__ == "__main__":
    with scratch_database() as scratch_url:
        asyncio.run(run(scratch_url))
