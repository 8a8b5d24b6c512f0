"""A mixed live load: 1,000 subscribers over 100 campaigns, three viewer roles, a guarded field.

Seeds a scratch PostgreSQL database (dropped at the end) with 100 campaigns of three
stages and one card each, a manager (every permission), a participant of every
campaign (OPPORTUNITY_ACCESS) and a VIEW_ALL user outside them; starts one real
`funnelgraph serve` process with a private redis-server. Each campaign gets 10
subscribers, the roles in turn; half select the card's customer `phone` (a contact
field: guarded, so grouped per viewer), half do not. Then card moves go out round the
campaigns, paced, each after the previous one answered.

Printed: deliveries/s, latency from the mutation's answer to receipt (p50, p99),
executions per event (from /healthz: one per group, not per subscriber), SQL
transactions per event (the mutation's own included), and whether every subscriber got
exactly its campaign's events, in order, with the phone only where the role may see it.

Run: `python -m bench.fanout_mixed [--campaigns 100] [--per-campaign 10] [--events 500]
[--pace 50]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench.fanout import (
    EMAIL,
    PASSWORD,
    SECRET,
    Server,
    campaign_with_a_card,
    fmt_ms,
    login,
    percentile,
    production_env,
    raise_open_file_limit,
    running,
    scratch_database,
)

ROLES = ("manager", "participant", "view_all")
SELLER = "seller@fanout.bench"
WATCHER = "watcher@fanout.bench"
PLAIN = """
subscription Mixed($c: ID!) {
  campaignEvents(campaignId: $c) {
    seq payload { __typename ... on OpportunityMoved { toStage { name } opportunity { name } } }
  }
}
"""
GUARDED = """
subscription Guarded($c: ID!) {
  campaignEvents(campaignId: $c) {
    seq payload { ... on OpportunityMoved { opportunity { name customer { name phone } } } }
  }
}
"""
MOVE = "mutation($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id } }"
CAMPAIGN_IDS = "query { campaigns(first: 100) { edges { node { id } } } }"
BOARD = """
query($c: ID!) { campaign(id: $c) { stages { id opportunities { edges { node { id } } } } } }
"""


async def seed(url: str, campaigns: int) -> None:
    from models import Permission
    from models.database import apply_migrations, close_database, open_database
    from resolvers.ids import encode_id
    from resolvers.users import create_user

    await apply_migrations(url)
    await open_database(url)
    try:
        manager = await create_user(
            name="Manager", email=EMAIL, password=PASSWORD, permissions=list(Permission)
        )
        seller = await create_user(
            name="Seller",
            email=SELLER,
            password=PASSWORD,
            permissions=[Permission.OPPORTUNITY_ACCESS],
        )
        await create_user(
            name="Watcher",
            email=WATCHER,
            password=PASSWORD,
            permissions=[Permission.OPPORTUNITY_ACCESS, Permission.VIEW_ALL],
        )
        sellers = [encode_id("User", seller.pk)]
        for number in range(campaigns):
            await campaign_with_a_card(
                manager,
                f"Campaign {number}",
                customer=f"Customer {number}",
                phone="+84 90 000 0000",
                participant_ids=sellers,
            )
    finally:
        await close_database()


@dataclass
class Viewer:
    campaign: int  # index
    role: str
    guarded: bool
    socket: Any = None
    received: list[tuple[int, float, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def read(self) -> None:
        async for text in self.socket:
            message = json.loads(text)
            if message.get("type") == "ping":
                await self.socket.send('{"type":"pong"}')
            elif message.get("type") == "next":
                event = message["payload"]["data"]["campaignEvents"]
                self.received.append((int(event["seq"]), time.perf_counter(), message["payload"]))
            elif message.get("type") != "pong":
                self.problems.append(text[:200])


async def token_for(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
        body = (
            await http.post(
                "/graphql", json={"query": query, "variables": {"e": email, "p": PASSWORD}}
            )
        ).json()
    return str(body["data"]["login"]["token"])


async def executions(base: str) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        return int((await http.get("/healthz")).json()["live"]["event_executions"])


async def sql_transactions(db_url: str) -> int:
    connection = await asyncpg.connect(db_url)
    try:
        value = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    return int(value)


async def run(server: Server, db_url: str, args: argparse.Namespace) -> bool:
    from tests.live import LiveClient

    tokens = {
        "manager": await login(server.base),
        "participant": await token_for(server.base, SELLER),
        "view_all": await token_for(server.base, WATCHER),
    }
    async with httpx.AsyncClient(
        base_url=server.base, timeout=60, headers={"Authorization": f"Bearer {tokens['manager']}"}
    ) as http:
        listed = (await http.post("/graphql", json={"query": CAMPAIGN_IDS})).json()
        ids = sorted(edge["node"]["id"] for edge in listed["data"]["campaigns"]["edges"])
        boards = []
        for campaign_id in ids[: args.campaigns]:
            variables = {"c": campaign_id}
            body = (
                await http.post("/graphql", json={"query": BOARD, "variables": variables})
            ).json()
            stages = body["data"]["campaign"]["stages"]
            card = next(e["node"]["id"] for s in stages for e in s["opportunities"]["edges"])
            boards.append((campaign_id, [stage["id"] for stage in stages], card))
        viewers = [
            Viewer(c, ROLES[k % 3], guarded=k % 2 == 1)
            for c in range(len(boards))
            for k in range(args.per_campaign)
        ]
        gate = asyncio.Semaphore(50)

        async def open_one(viewer: Viewer) -> None:
            async with gate:
                client = await LiveClient.connect(server.base, tokens[viewer.role])
                document = GUARDED if viewer.guarded else PLAIN
                await client.subscribe(document, {"c": boards[viewer.campaign][0]})
                viewer.socket = client.socket

        opened = time.perf_counter()
        await asyncio.gather(*(open_one(v) for v in viewers))
        print(
            f"{len(viewers)} subscribers over {len(boards)} campaigns opened in "
            f"{time.perf_counter() - opened:.1f} s",
            flush=True,
        )
        readers = [asyncio.create_task(v.read()) for v in viewers]
        await asyncio.sleep(1.0)
        executions_before = await executions(server.base)
        sql_before = await sql_transactions(db_url)
        cpu_before = server.cpu()
        answered: dict[tuple[int, int], float] = {}  # (campaign, nth move) -> answer time
        started = time.perf_counter()
        for i in range(args.events):
            await asyncio.sleep(max(0.0, started + i / args.pace - time.perf_counter()))
            campaign = i % len(boards)
            _, stages, card = boards[campaign]
            nth = i // len(boards)
            variables = {"i": {"id": card, "stageId": stages[1 + nth % 2]}}
            body = (
                await http.post("/graphql", json={"query": MOVE, "variables": variables})
            ).json()
            if body.get("errors"):
                print(f"move failed: {body['errors']}", file=sys.stderr)
                return False
            answered[(campaign, nth)] = time.perf_counter()
        sent_seconds = time.perf_counter() - started
        expected_each = {c: sum(1 for k in answered if k[0] == c) for c in range(len(boards))}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(  # noqa: ASYNC110  (polls 1,000 counts)
            len(v.received) < expected_each[v.campaign] for v in viewers
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.2)
        cpu = server.cpu() - cpu_before
        executed = await executions(server.base) - executions_before
        sql = await sql_transactions(db_url) - sql_before
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for viewer in viewers:
            await viewer.socket.close()

    latencies, faults = [], 0
    last = started
    for viewer in viewers:
        seqs = [seq for seq, _, _ in viewer.received]
        if len(seqs) != expected_each[viewer.campaign] or seqs != sorted(set(seqs)):
            faults += 1
        for nth, (_, at, payload) in enumerate(viewer.received):
            latencies.append(at - answered.get((viewer.campaign, nth), at))
            last = max(last, at)
            if viewer.guarded:
                customer = payload["data"]["campaignEvents"]["payload"]["opportunity"]["customer"]
                # Contacts: the manager and VIEW_ALL see them; a participant who does not
                # own the customer gets null and FORBIDDEN.
                hidden = viewer.role == "participant"
                if (customer["phone"] is None) != hidden or bool(payload.get("errors")) != hidden:
                    faults += 1
        faults += len(viewer.problems)
    deliveries = len(latencies)
    events = len(answered)
    print(
        f"{events} moves in {sent_seconds:.1f} s ({events / sent_seconds:.0f}/s asked "
        f"{args.pace:.0f}/s) -> {deliveries} deliveries in {last - started:.1f} s = "
        f"{deliveries / (last - started):.0f}/s"
    )
    print(
        f"latency from the move's answer: p50 {fmt_ms(percentile(latencies, 0.5))}  "
        f"p99 {fmt_ms(percentile(latencies, 0.99))}  max {fmt_ms(max(latencies))}"
    )
    groups = 2 * 3  # per campaign: two documents, three scopes (the guarded one per viewer)
    print(
        f"executions: {executed} for {events} events = {executed / events:.1f}/event "
        f"(subscribers per campaign {args.per_campaign}; distinct groups at most {groups})"
    )
    print(
        f"SQL transactions: {sql / events:.1f}/event including the move itself; server CPU "
        f"{cpu * 1e6 / max(1, deliveries):.0f} us/delivery"
    )
    print(
        f"every subscriber got exactly its campaign's events, phone only where allowed: "
        f"{'yes' if faults == 0 else f'NO ({faults} faults)'}"
    )
    return faults == 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_mixed", description=__doc__)
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--per-campaign", type=int, default=10)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--pace", type=float, default=50.0)
    args = parser.parse_args(argv)
    raise_open_file_limit(2 * args.campaigns * args.per_campaign + 512)

    from tests.live import FUNNELGRAPH, redis_server

    with redis_server() as redis, scratch_database() as db_url:
        asyncio.run(seed(db_url, args.campaigns))
        env = production_env(db_url, redis.url, SECRET)
        with running([FUNNELGRAPH, "serve"], env, "funnelgraph") as server:
            ok = asyncio.run(run(server, db_url, args))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
