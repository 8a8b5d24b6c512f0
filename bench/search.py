"""OpportunityFilter on 100,000 cards: Query.opportunities through the real ASGI app,
beside the same page from hand-written asyncpg SQL, alternating, medians.

Creates a scratch PostgreSQL database (dropped at the end), migrates it, loads 100,000
cards over 50 campaigns (each with its own customer), then times the first page
(50 cards, newest first) of each filter for a VIEW_ALL viewer and for a participant of
5 campaigns. It prints each plan's index use: a search without its trigram index would
read every card. Run: `python -m bench.search` (BENCH_POSTGRES_URL names the server's
admin database; default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench.board import in_process_settings
from bench.fanout import scratch_database
from models.database import apply_migrations
from resolvers.ids import encode_id
from server.app import create_app
from server.auth import JwtTokens
from server.settings import Limits

CARDS = 100_000
CAMPAIGNS = 50
OWNERS = 20
PAGE = 50
RUNS = 30
COMMON = ["Nguyen", "Tran", "Acme", "Solar", "Steel", "Retail"]  # each in ~1 name in 6
NOW = datetime(2026, 12, 1, tzinfo=UTC)

PAGE_QUERY = """
query Page($filter: OpportunityFilter) {
  opportunities(first: 50, filter: $filter) { edges { node { id name } } }
}
"""


def baseline_sql(given: dict[str, Any], campaigns: list[int] | None) -> tuple[str, list[Any]]:
    """The same page by hand: only the conditions given, the search as the indexes have it."""
    conditions, arguments = [], []
    if campaigns is not None:
        arguments.append(campaigns)
        conditions.append(f"o.campaign_id = ANY(${len(arguments)})")
    if "search" in given:
        arguments.append(f"%{given['search'].upper()}%")
        mark = f"${len(arguments)}"
        conditions.append(
            f"(UPPER(o.name::varchar) LIKE {mark} OR o.customer_id IN "
            f"(SELECT c.id FROM customer c WHERE UPPER(c.name::varchar) LIKE {mark}))"
        )
    if "ownerIds" in given:
        arguments.append(3)
        conditions.append(f"o.owner_id = ${len(arguments)}")
    if "results" in given:
        arguments.append(given["results"][0])
        conditions.append(f"o.result = ${len(arguments)}")
    where = " AND ".join(conditions) or "TRUE"
    order = "ORDER BY o.created_at DESC, o.id DESC LIMIT 50"
    sql = f"SELECT o.id FROM opportunity o WHERE {where} {order}"
    return sql, arguments


async def load(url: str) -> tuple[int, int, list[int], int]:
    """(VIEW_ALL viewer, participant, the participant's campaigns, an owner) by COPY."""
    connection = await asyncpg.connect(url)
    chooser = random.Random(7)
    try:
        permissions = [["OPPORTUNITY_ACCESS", "VIEW_ALL"]] + [["OPPORTUNITY_ACCESS"]] * (OWNERS + 1)
        await connection.executemany(
            'INSERT INTO "user" (id, email, name, password_hash, permission_names, created_at, '
            "notification_seq) VALUES ($1, $2, $3, '-', $4::jsonb, $5, 0)",
            [
                (n + 1, f"u{n}@bench.test", f"User {n}", json.dumps(granted), NOW)
                for n, granted in enumerate(permissions)
            ],
        )
        campaigns = [(n + 1, f"C{n}", f"Campaign {n}", 1, NOW) for n in range(CAMPAIGNS)]
        await connection.executemany(
            "INSERT INTO campaign (id, code, name, manager_id, created_at, auto_assign, "
            "allow_duplicate_opportunities, event_seq) VALUES ($1, $2, $3, $4, $5, false, "
            "false, 0)",
            campaigns,
        )
        await connection.executemany(
            "INSERT INTO stage (id, campaign_id, name, position) VALUES ($1, $2, $3, $4)",
            [(n * 5 + p + 1, n + 1, f"Step {p}", p) for n in range(CAMPAIGNS) for p in range(5)],
        )
        await connection.executemany(
            "INSERT INTO campaign_member (campaign_id, user_id, position) VALUES ($1, 2, 0)",
            [(n,) for n in range(1, 6)],
        )
        # Names as a sales floor has them: a common word, then words nearly unique to it.
        words = ["".join(chooser.choices("abcdeghiklmnopqrstuvxy", k=7)) for _ in range(20_000)]
        customers = [
            (n + 1, f"{chooser.choice(COMMON)} {chooser.choice(words).title()} {n}", NOW)
            for n in range(CARDS)
        ]
        await connection.copy_records_to_table(
            "customer", records=customers, columns=["id", "name", "created_at"]
        )
        cards = []
        for n in range(CARDS):
            campaign = n % CAMPAIGNS + 1
            created = NOW - timedelta(minutes=n)
            cards.append(
                (
                    n + 1, campaign, n + 1, (campaign - 1) * 5 + n % 5 + 1,
                    None if n % 7 == 0 else 3 + n % OWNERS,
                    f"{chooser.choice(words).title()} deal {n}", 10, f"{n:08d}",
                    ("OPEN", "OPEN", "WON", "LOST")[n % 4], created, created, created, 0,
                    "CAMPAIGN", False,
                )
            )  # fmt: skip
        await connection.copy_records_to_table(
            "opportunity",
            records=cards,
            columns=["id", "campaign_id", "customer_id", "stage_id", "owner_id", "name",
                     "probability", "rank", "result", "created_at", "updated_at",
                     "stage_entered_at", "version", "source", "overdue_notified"],
        )  # fmt: skip
        for table in ("user", "campaign", "stage", "customer", "opportunity"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT max(id) FROM "{table}"))'
            )
        # As autovacuum leaves a table: the trigram indexes' pending lists merged.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return 1, 2, [1, 2, 3, 4, 5], 3


RARE = "".join(random.Random(7).choices("abcdeghiklmnopqrstuvxy", k=7))  # the first word


CASES: list[tuple[str, dict[str, Any]]] = [
    ("search a rare word", {"search": RARE}),
    ("search 'acme' (1 name in 12)", {"search": "acme"}),
    ("search 'deal 4242' (a few)", {"search": "deal 4242"}),
    ("search 'ng' (2 letters, no trigram)", {"search": "ng"}),
    ("my open deals (owner + OPEN)", {"ownerIds": [encode_id("User", 3)], "results": ["OPEN"]}),
]


async def median_pair(
    ours: Callable[[], Awaitable[list[str]]], theirs: Callable[[], Awaitable[list[str]]]
) -> tuple[float, float, bool]:
    """Medians of RUNS alternating runs each, and whether both gave the same ids."""
    mine, base = [], []
    for _ in range(3):  # warm-up
        same = await ours() == await theirs()
    for _ in range(RUNS):
        for timed, samples in ((ours, mine), (theirs, base)):
            started = time.perf_counter()
            await timed()
            samples.append(time.perf_counter() - started)
    return statistics.median(mine), statistics.median(base), same


async def run(url: str) -> None:
    await apply_migrations(url)
    started = time.perf_counter()
    view_all, participant, participant_campaigns, _ = await load(url)
    print(
        f"loaded {CARDS:,} cards in {CAMPAIGNS} campaigns in {time.perf_counter() - started:.0f} s"
    )
    # One user sends every request: the operations limit is lifted (its counting still runs).
    settings = replace(in_process_settings(url), limits=Limits(operations_per_second=1_000_000))
    app = create_app(settings)
    tokens = JwtTokens(settings.secret_key, settings.token_ttl_seconds)
    connection = await asyncpg.connect(url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            from models import User

            rows = {pk: await User.get(pk=pk) for pk in (view_all, participant)}
            print(f"{'filter':<36} {'viewer':<12} {'funnelgraph':>12} {'asyncpg':>9} "
                  f"{'ratio':>6}  same  plan")  # fmt: skip
            for label, given in CASES:
                for viewer, campaigns in ((view_all, None), (participant, participant_campaigns)):
                    token = tokens.issue(rows[viewer]).token
                    body = {"query": PAGE_QUERY, "variables": {"filter": given}}
                    headers = {"Authorization": f"Bearer {token}"}

                    async def ours(body: Any = body, headers: Any = headers) -> list[str]:
                        answer = (await http.post("/graphql", json=body, headers=headers)).json()
                        if answer.get("errors"):
                            raise RuntimeError(f"the query failed: {answer}")
                        edges = answer["data"]["opportunities"]["edges"]
                        return [edge["node"]["id"] for edge in edges]

                    sql, arguments = baseline_sql(given, campaigns)

                    async def theirs(sql: str = sql, arguments: Any = arguments) -> list[str]:
                        found = await connection.fetch(sql, *arguments)
                        return [encode_id("Opportunity", row["id"]) for row in found]

                    mine, base, same = await median_pair(ours, theirs)
                    plan = await connection.fetch("EXPLAIN " + sql, *arguments)
                    text = " ".join(row[0] for row in plan)
                    used = "trigram index" if "_trgm" in text else "no trigram index"
                    print(
                        f"{label:<36} {'VIEW_ALL' if campaigns is None else '5 campaigns':<12} "
                        f"{mine * 1000:9.1f} ms {base * 1000:6.1f} ms {mine / base:5.1f}x  "
                        f"{'yes' if same else 'NO':<4}  {used}"
                    )
    await connection.close()
    print(f"medians of {RUNS} alternating runs each; a page is {PAGE} cards, newest first")


if __name__ == "__main__":
    with scratch_database() as scratch_url:
        asyncio.run(run(scratch_url))
