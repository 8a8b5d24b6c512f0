"""500 cards moved in one moveOpportunities call, beside the same 500 moves as single
moveOpportunity calls, through the real ASGI app on PostgreSQL, alternating, medians.

Creates a scratch PostgreSQL database (dropped at the end), migrates it, builds one
campaign of 3 steps with 500 cards in the first and 500 in the second, then moves the
500 from one step to the other and back: each run is one call (bulk) or 500 (single).
The issue's target: one call of 500 moves under 2 s. Run: `python -m bench.bulk`
(BENCH_POSTGRES_URL names the server's admin database; default
postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import replace
from typing import Any

import httpx

from bench.board import in_process_settings
from bench.fanout import scratch_database
from models import Campaign, Customer, Opportunity, Permission, Stage, User
from models.database import apply_migrations
from models.ranking import keys_after
from resolvers.ids import encode_id
from server.app import create_app
from server.auth import JwtTokens
from server.settings import Limits

CARDS = 500
RUNS = 5
MOVE_MANY = """
mutation Move($i: MoveOpportunitiesInput!) {
  moveOpportunities(input: $i) { succeeded { id } failed { id code } }
}
"""
MOVE_ONE = "mutation Move($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id } }"


async def build() -> tuple[User, list[str], list[str]]:
    """A manager, the campaign's step ids, and the ids of the CARDS cards to move."""
    manager = await User.create(
        email="manager@bench.test",
        name="Bench Manager",
        password_hash="-",
        permission_names=[Permission.OPPORTUNITY_ACCESS.value, Permission.OPPORTUNITY_EDIT.value],
    )
    campaign = await Campaign.create(code="BULK", name="Bulk", manager_id=manager.pk)
    await Stage.bulk_create(
        [Stage(campaign_id=campaign.pk, name=f"Step {n}", position=n) for n in range(3)]
    )
    stages = list(await Stage.filter(campaign_id=campaign.pk).order_by("position"))
    await Customer.bulk_create([Customer(name=f"Customer {n}") for n in range(2 * CARDS)])
    customers = list(await Customer.all().order_by("id"))
    cards = [
        Opportunity(
            campaign_id=campaign.pk,
            customer_id=customers[n].pk,
            stage_id=stages[n // CARDS].pk,
            owner_id=manager.pk,
            name=customers[n].name,
            probability=10,
            rank=rank,
        )
        for n, rank in enumerate(keys_after(None, CARDS) * 2)
    ]
    await Opportunity.bulk_create(cards, batch_size=1000)
    moved = (
        await Opportunity.filter(stage_id=stages[0].pk)
        .order_by("rank")
        .values_list("id", flat=True)
    )
    return (
        manager,
        [encode_id("Stage", stage.pk) for stage in stages],
        [encode_id("Opportunity", pk) for pk in moved],
    )


async def run(url: str) -> None:
    await apply_migrations(url)
    # One user sends every request: the operations limit is lifted (its counting still runs).
    settings = replace(in_process_settings(url), limits=Limits(operations_per_second=1_000_000))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        manager, stages, cards = await build()
        token = JwtTokens(settings.secret_key, settings.token_ttl_seconds).issue(manager).token
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=120
        ) as http:

            async def call(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                body = (await http.post("/graphql", json={"query": query, "variables": variables},
                                        headers=headers)).json()  # fmt: skip
                if body.get("errors"):
                    raise RuntimeError(f"the call failed: {body['errors']}")
                return dict(body["data"])

            async def bulk(stage: str) -> None:
                answer = await call(MOVE_MANY, {"i": {"ids": cards, "stageId": stage}})
                if answer["moveOpportunities"]["failed"]:
                    raise RuntimeError(f"moves failed: {answer['moveOpportunities']['failed']}")

            async def single(stage: str) -> None:
                for card in cards:
                    await call(MOVE_ONE, {"i": {"id": card, "stageId": stage}})

            timings: dict[str, list[float]] = {"bulk": [], "single": []}
            for number in range(RUNS + 1):  # the first of each is a warm-up
                for label, move in (("bulk", bulk), ("single", single)):
                    for stage in (stages[2], stages[0]):  # there and back: two timed calls
                        started = time.perf_counter()
                        await move(stage)
                        if number:
                            timings[label].append(time.perf_counter() - started)
    one = statistics.median(timings["bulk"])
    many = statistics.median(timings["single"])
    print(f"{CARDS} cards moved to another step, {2 * RUNS} runs each after a warm-up, alternating")
    print(f"moveOpportunities, one call of {CARDS}: median {one * 1000:7.0f} ms "
          f"(max {max(timings['bulk']) * 1000:.0f} ms; target < 2000 ms)")  # fmt: skip
    print(f"moveOpportunity, {CARDS} calls:        median {many * 1000:7.0f} ms")
    print(f"ratio single / bulk: {many / one:.1f}x")


if __name__ == "__main__":
    with scratch_database() as scratch_url:
        asyncio.run(run(scratch_url))
