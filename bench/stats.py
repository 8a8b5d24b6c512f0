"""Campaign.stats over a long history, through the real ASGI app, beside the same figures
from hand-written SQL (asyncpg), alternating one of each per round, medians reported.

Creates a scratch PostgreSQL database (dropped at the end), migrates it, and builds one
campaign of 10 steps with 10,000 cards and 50,000 stage changes (each card's walk across
the board: five placements, the last one open, won or lost, with the stays they make).
Run: `python -m bench.stats` (BENCH_POSTGRES_URL names the server's admin database;
default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from bench.board import in_process_settings
from bench.fanout import scratch_database
from models import Campaign, Customer, LossReason, Permission, Stage, User
from models.database import apply_migrations
from models.ranking import keys_after
from resolvers import money
from resolvers.ids import encode_id
from server.app import create_app
from server.auth import JwtTokens

STEPS = 10
CARDS = 10_000
PLACEMENTS = 5  # stage changes per card: 50,000 in all
REASONS = 4
ROUNDS = 30
WARM_UP = 3
START = datetime(2026, 1, 1, tzinfo=UTC)

STATS = """
query Stats($id: ID!) {
  campaign(id: $id) {
    stats {
      opportunityCount openCount wonCount lostCount winRate wonAmount weightedOpenAmount
      stages { stage { id } entered advanced conversionRate averageSecondsInStage lostHere }
      lossReasons { reason { id } count amount }
      forecast { month count weightedAmount }
    }
  }
}
"""

# The baseline: the same figures, written by hand for this bench (not the server's SQL).
RESULTS_SQL = """
SELECT result, COUNT(*) AS count,
       COALESCE(SUM(amount), 0) AS amount,
       COALESCE(SUM(ROUND(amount * 100) * probability), 0) AS weighted
FROM opportunity WHERE campaign_id = $1 GROUP BY result
"""
LOSSES_SQL = """
SELECT loss_reason_id, COUNT(*) AS count, COALESCE(SUM(amount), 0) AS amount
FROM opportunity WHERE campaign_id = $1 AND result = 'LOST'
GROUP BY loss_reason_id ORDER BY loss_reason_id NULLS LAST
"""
FORECAST_SQL = """
SELECT to_char(expected_close_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, COUNT(*) AS count,
       COALESCE(SUM(ROUND(amount * 100) * probability), 0) AS weighted
FROM opportunity
WHERE campaign_id = $1 AND result = 'OPEN' AND expected_close_at IS NOT NULL
GROUP BY 1 ORDER BY 1
"""
STAGES_SQL = """
WITH walk AS (
  SELECT y.opportunity_id, y.stage_id, y.seconds, s.position, o.result,
         MAX(s.position) OVER after_it AS later_top,
         ROW_NUMBER() OVER (PARTITION BY y.opportunity_id
                            ORDER BY y.entered_at DESC, y.id DESC) AS from_last
  FROM stage_stay y
  JOIN opportunity o ON o.id = y.opportunity_id
  JOIN stage s ON s.id = y.stage_id
  WHERE o.campaign_id = $1
  WINDOW after_it AS (PARTITION BY y.opportunity_id ORDER BY y.entered_at, y.id
                      ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
)
SELECT s.id,
       COUNT(DISTINCT w.opportunity_id) AS entered,
       COUNT(DISTINCT w.opportunity_id)
         FILTER (WHERE w.result = 'WON' OR w.later_top > w.position) AS advanced,
       COUNT(*) FILTER (WHERE w.from_last = 1 AND w.result = 'LOST') AS lost_here,
       AVG(w.seconds) AS average
FROM stage s LEFT JOIN walk w ON w.stage_id = s.id
WHERE s.campaign_id = $1 AND s.removed_at IS NULL
GROUP BY s.id, s.position ORDER BY s.position
"""


async def baseline_stats(connection: asyncpg.Connection, campaign_pk: int) -> bytes:
    results = {row["result"]: row for row in await connection.fetch(RESULTS_SQL, campaign_pk)}

    def of(result: str, column: str) -> Any:
        row = results.get(result)
        return 0 if row is None else row[column]

    won, lost = of("WON", "count"), of("LOST", "count")
    stages = [
        {
            "stage": {"id": encode_id("Stage", row["id"])},
            "entered": row["entered"],
            "advanced": row["advanced"],
            "conversionRate": row["advanced"] / row["entered"] if row["entered"] else None,
            "averageSecondsInStage": None if row["average"] is None else float(row["average"]),
            "lostHere": row["lost_here"],
        }
        for row in await connection.fetch(STAGES_SQL, campaign_pk)
    ]
    stats = {
        "opportunityCount": sum(row["count"] for row in results.values()),
        "openCount": of("OPEN", "count"),
        "wonCount": won,
        "lostCount": lost,
        "winRate": won / (won + lost) if won + lost else None,
        "wonAmount": str(of("WON", "amount")),
        "weightedOpenAmount": str(money.weighted_amount(int(of("OPEN", "weighted")))),
        "stages": stages,
        "lossReasons": [
            {
                "reason": None
                if row["loss_reason_id"] is None
                else {"id": encode_id("LossReason", row["loss_reason_id"])},
                "count": row["count"],
                "amount": str(row["amount"]),
            }
            for row in await connection.fetch(LOSSES_SQL, campaign_pk)
        ],
        "forecast": [
            {
                "month": row["month"],
                "count": row["count"],
                "weightedAmount": str(money.weighted_amount(int(row["weighted"]))),
            }
            for row in await connection.fetch(FORECAST_SQL, campaign_pk)
        ],
    }
    return json.dumps({"data": {"campaign": {"stats": stats}}}).encode()


async def build_history(url: str) -> tuple[User, Campaign]:
    """A manager, a campaign of STEPS steps and REASONS loss reasons, and CARDS cards
    whose walks across the board make PLACEMENTS stage changes each."""
    manager = await User.create(
        email="manager@bench.test",
        name="Bench Manager",
        password_hash="-",
        permission_names=[Permission.OPPORTUNITY_ACCESS.value],
    )
    campaign = await Campaign.create(code="BENCH", name="Bench", manager_id=manager.pk)
    await Stage.bulk_create(
        [Stage(campaign_id=campaign.pk, name=f"Step {n}", position=n) for n in range(STEPS)]
    )
    stages = [
        stage.pk for stage in await Stage.filter(campaign_id=campaign.pk).order_by("position")
    ]
    for n in range(REASONS):
        await LossReason.create(campaign_id=campaign.pk, name=f"Reason {n}", name_key=f"reason {n}")
    reasons = [reason.pk for reason in await LossReason.filter(campaign_id=campaign.pk)]
    await Customer.bulk_create(
        [Customer(name=f"Customer {n:05d}") for n in range(CARDS)], batch_size=1000
    )
    customers = [customer.pk for customer in await Customer.all().order_by("id")]
    chooser = random.Random(7)
    ranks = keys_after(None, CARDS)
    cards, stays, changes = [], [], []
    for n, customer in enumerate(customers):
        card = n + 1
        created = START + timedelta(minutes=n * 40)
        at, walk = created, [chooser.randrange(STEPS)]
        for _ in range(PLACEMENTS - 1):
            walk.append(chooser.randrange(STEPS))
        result = chooser.choice(["OPEN", "OPEN", "OPEN", "WON", "LOST"])
        moments = [at]
        for _ in walk[1:]:
            at += timedelta(seconds=chooser.randrange(600, 86_400 * 5))
            moments.append(at)
        closed = at + timedelta(hours=2) if result != "OPEN" else None
        for index, (stage, entered) in enumerate(zip(walk, moments, strict=True)):
            left = moments[index + 1] if index + 1 < len(moments) else closed
            ended_by = "MOVED" if index + 1 < len(moments) else (None if closed is None else result)
            seconds = None if left is None else (left - entered).total_seconds()
            stays.append((card, stages[stage], entered, left, seconds, ended_by))
            changes.append(
                (card, stages[walk[index - 1]] if index else None, stages[stage], entered, seconds)
            )
        amount = Decimal(chooser.randrange(0, 5_000_000)) / 100 if n % 4 else None
        cards.append(
            (
                card,
                campaign.pk,
                customer,
                stages[walk[-1]],
                f"Card {n}",
                100 if result == "WON" else 0 if result == "LOST" else chooser.randrange(101),
                amount,
                "COMPANY_DATA",
                result,
                ranks[n],
                created,
                at,
                closed,
                moments[-1],
                START + timedelta(days=chooser.randrange(400)) if n % 3 else None,
                chooser.choice([*reasons, None]) if result == "LOST" else None,
                "lost" if result == "LOST" else None,
                1,
                False,
            )
        )
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "opportunity",
            records=cards,
            columns=[
                "id", "campaign_id", "customer_id", "stage_id", "name", "probability", "amount",
                "source", "result", "rank", "created_at", "updated_at", "closed_at",
                "stage_entered_at", "expected_close_at", "loss_reason_id", "failure_reason",
                "version", "overdue_notified",
            ],
        )  # fmt: skip
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('opportunity', 'id'), $1)", CARDS
        )
        await connection.copy_records_to_table(
            "stage_stay",
            records=stays,
            columns=["opportunity_id", "stage_id", "entered_at", "left_at", "seconds", "ended_by"],
        )
        await connection.copy_records_to_table(
            "stage_change",
            records=changes,
            columns=[
                "opportunity_id",
                "from_stage_id",
                "to_stage_id",
                "at",
                "seconds_in_from_stage",
            ],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return manager, campaign


async def measure(
    graphql: Callable[[], Awaitable[bytes]], baseline: Callable[[], Awaitable[bytes]]
) -> tuple[list[float], list[float], bytes, bytes]:
    """Alternating rounds, one of each, after a warm-up of both."""
    for _ in range(WARM_UP):
        await graphql()
        await baseline()
    ours: list[float] = []
    theirs: list[float] = []
    body = base = b""
    for _ in range(ROUNDS):
        for samples, run in ((ours, graphql), (theirs, baseline)):
            started = time.perf_counter()
            if run is graphql:
                body = await run()
            else:
                base = await run()
            samples.append(time.perf_counter() - started)
    return ours, theirs, body, base


def _rounded(value: Any) -> Any:
    """Floats to 9 significant digits: both sides divide the same sums, in other orders."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


async def run(url: str) -> None:
    await apply_migrations(url)
    settings = in_process_settings(url)
    app = create_app(settings)
    token = ""
    async with app.router.lifespan_context(app):
        viewer, campaign = await build_history(url)
        token = JwtTokens(settings.secret_key, settings.token_ttl_seconds).issue(viewer).token
        payload = {"query": STATS, "variables": {"id": encode_id("Campaign", campaign.pk)}}
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        connection = await asyncpg.connect(url)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as http:

                async def graphql() -> bytes:
                    response = await http.post("/graphql", json=payload, headers=headers)
                    response.raise_for_status()
                    return response.content

                async def baseline() -> bytes:
                    return await baseline_stats(connection, campaign.pk)

                ours, theirs, body, base = await measure(graphql, baseline)
        finally:
            await connection.close()
    same = _rounded(json.loads(body)) == _rounded(json.loads(base))
    print(
        f"stats: {CARDS:,} cards, {CARDS * PLACEMENTS:,} stage changes, {STEPS} steps; "
        f"{ROUNDS} alternating rounds after {WARM_UP} warm-up"
    )
    for label, samples in (
        ("GraphQL (ASGI, in-process)", ours),
        ("hand SQL (asyncpg)", theirs),
    ):
        print(
            f"{label:<28} p50 {statistics.median(samples) * 1000:8.1f} ms   "
            f"max {max(samples) * 1000:8.1f} ms"
        )
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"ratio GraphQL p50 / hand SQL p50: {ratio:.2f}x")
    print(f"same figures in both responses: {'yes' if same else 'NO'}")
    if not same:
        print(body.decode()[:2000])
        print(base.decode()[:2000])


def main() -> None:
    with scratch_database() as url:
        asyncio.run(run(url))


if __name__ == "__main__":
    main()
