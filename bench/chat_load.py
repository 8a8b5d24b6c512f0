"""Does chat slow the board? Board delivery with and without presence and unread counts.

Seeds a scratch PostgreSQL database (dropped at the end) with one campaign of three
stages and one card, its manager, and --viewers participants; starts one real
`funnelgraph serve` process with a private redis-server. Each round opens one socket per
participant, subscribed to campaignEvents. Then, for --seconds, the manager moves the
card --moves times a second. Three kinds of round, alternating:

- board: the moves only;
- messages: the moves, and --messages chat messages a second by the manager (each is a
  board event too);
- chat: as messages, and the first --chatters sockets also hold campaignPresence and
  myUnreadChat (a full chat client), and two of them keep typing.

chat against messages is what presence and unread counts cost the board.

Latency = receipt at the subscriber minus the moment the mutation's HTTP answer
arrived; each event is matched to its mutation by clientMutationId. Printed per round:
board-event latency (moves only, and every board event), deliveries, the presence and
unread frames the chatters got, server CPU; then the medians of the two kinds of round
and the ratio of their move p99s. Every subscriber's seqs are checked to be exactly the
log's, in order.

Run: `python -m bench.chat_load [--viewers 1000] [--chatters 100] [--seconds 10]
[--moves 20] [--messages 20] [--rounds 2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.fanout import (
    EMAIL,
    SECRET,
    Server,
    campaign_with_a_card,
    fmt_ms,
    percentile,
    production_env,
    raise_open_file_limit,
    running,
    scratch_database,
)

BOARD = """
subscription Board($c: ID!, $a: String) {
  campaignEvents(campaignId: $c, after: $a) {
    seq clientMutationId
    payload { __typename ... on OpportunityMoved { toStage { name } } }
  }
}
"""
PRESENCE = """
subscription Presence($c: ID!) {
  campaignPresence(campaignId: $c) { users { user { name } activity } }
}
"""
UNREAD = "subscription { myUnreadChat { campaign { id } unreadCount readCursor } }"
START = """
query($c: ID!) { campaign(id: $c) { lastEventCursor stages { id opportunities { edges {
  node { id } } } } } }
"""
CAMPAIGN = "query { campaigns(first: 1) { edges { node { id } } } }"
MOVE = "mutation($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id } }"
POST = "mutation($i: PostChatMessageInput!) { postChatMessage(input: $i) { id } }"
KINDS = ("board", "messages", "chat")
TYPING = "mutation($c: ID!) { setTyping(campaignId: $c, typing: true) }"


async def seed(url: str, viewers: int) -> dict[str, str]:
    """The campaign, its manager and participants; a token for each user, by email."""
    from models import CampaignMember, Permission, User
    from models.database import apply_migrations, close_database, open_database
    from resolvers.users import create_user
    from server.auth import JwtTokens

    await apply_migrations(url)
    await open_database(url)
    try:
        manager = await create_user(
            name="Manager", email=EMAIL, password="bench-password", permissions=list(Permission)
        )
        # Participants written in bulk: hashing a thousand passwords is not what is measured.
        await User.bulk_create(
            [
                User(
                    name=f"Seller {n:04d}",
                    email=f"seller{n}@chat.bench",
                    password_hash="-",
                    permission_names=[Permission.OPPORTUNITY_ACCESS.value],
                )
                for n in range(viewers)
            ]
        )
        sellers = await User.filter(email__endswith="@chat.bench").order_by("id")
        await campaign_with_a_card(manager, "Chat load", customer="Chat Customer")
        from models import Campaign

        campaign = await Campaign.get()
        await CampaignMember.bulk_create(
            [
                CampaignMember(campaign_id=campaign.pk, user_id=seller.pk, position=n)
                for n, seller in enumerate(sellers)
            ]
        )
        tokens = JwtTokens(SECRET, 24 * 3600)
        return {user.email: tokens.issue(user).token for user in [manager, *sellers]}
    finally:
        await close_database()


@dataclass
class Viewer:
    token: str
    chatter: bool
    socket: Any = None
    events: list[tuple[int, str | None, float]] = field(default_factory=list)
    presence: int = 0
    unread: int = 0
    problems: list[str] = field(default_factory=list)

    async def read(self) -> None:
        async for text in self.socket:
            message = json.loads(text)
            kind = message.get("type")
            if kind == "ping":
                await self.socket.send('{"type":"pong"}')
            elif kind == "next" and message["payload"].get("errors"):
                self.problems.append(text[:200])
            elif kind == "next" and message["id"] == "1":
                event = message["payload"]["data"]["campaignEvents"]
                self.events.append(
                    (int(event["seq"]), event["clientMutationId"], time.perf_counter())
                )
            elif kind == "next" and message["id"] == "2":
                self.presence += 1
            elif kind == "next" and message["id"] == "3":
                self.unread += 1
            elif kind != "pong":
                self.problems.append(text[:200])


@dataclass
class Round:
    kind: str
    moves: list[float]
    every: list[float]
    deliveries: int
    presence: int
    unread: int
    cpu: float  # seconds of server CPU per second, until the last delivery
    faults: int
    slowest: list[tuple[float, float, str]]  # (worst latency, answered at +s, kind) per event
    events: int
    sending: float  # seconds the mutations took to send, each after the last answered


async def one_round(
    server: Server, tokens: dict[str, str], kind: str, args: argparse.Namespace
) -> Round:
    from tests.live import LiveClient

    manager = tokens[EMAIL]
    sellers = [token for email, token in tokens.items() if email != EMAIL][: args.viewers]
    async with httpx.AsyncClient(
        base_url=server.base, timeout=60, headers={"Authorization": f"Bearer {manager}"}
    ) as http:

        async def ask(query: str, variables: dict[str, Any], token: str = manager) -> Any:
            headers = {"Authorization": f"Bearer {token}"}
            body = (
                await http.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
            ).json()
            if body.get("errors"):
                raise RuntimeError(body["errors"])
            return body["data"]

        campaign = (await ask(CAMPAIGN, {}))["campaigns"]["edges"][0]["node"]["id"]
        start = (await ask(START, {"c": campaign}))["campaign"]
        stages = [stage["id"] for stage in start["stages"]]
        card = next(e["node"]["id"] for s in start["stages"] for e in s["opportunities"]["edges"])
        chatters = args.chatters if kind == "chat" else 0
        viewers = [Viewer(token, chatter=n < chatters) for n, token in enumerate(sellers)]
        gate = asyncio.Semaphore(50)

        async def open_one(viewer: Viewer) -> None:
            async with gate:
                client = await LiveClient.connect(server.base, viewer.token)
                await client.subscribe(BOARD, {"c": campaign, "a": start["lastEventCursor"]})
                if viewer.chatter:
                    await client.subscribe(PRESENCE, {"c": campaign})
                    await client.subscribe(UNREAD)
                viewer.socket = client.socket

        await asyncio.gather(*(open_one(v) for v in viewers))
        readers = [asyncio.create_task(v.read()) for v in viewers]
        await asyncio.sleep(3.0 if kind == "chat" else 1.0)  # presence settles
        answered: dict[str, float] = {}
        moved: set[str] = set()
        cpu_before = server.cpu()
        started = time.perf_counter()

        async def paced(rate: float, act: Any) -> None:
            count = int(rate * args.seconds)
            for i in range(count):
                await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
                await act(i)

        async def move(i: int) -> None:
            key = f"m{uuid.uuid4().hex}"
            stage = stages[1 + i % 2]
            await ask(MOVE, {"i": {"id": card, "stageId": stage, "clientMutationId": key}})
            answered[key] = time.perf_counter()
            moved.add(key)

        async def post(i: int) -> None:
            key = f"p{uuid.uuid4().hex}"
            message = {"campaignId": campaign, "body": f"note {i}", "clientMutationId": key}
            await ask(POST, {"i": message})
            answered[key] = time.perf_counter()

        async def type_(i: int) -> None:
            typist = viewers[i % 2]
            await ask(TYPING, {"c": campaign}, typist.token)

        # The client's own collector would pause its readers mid-round: latency it adds.
        gc.disable()
        senders = [paced(args.moves, move)]
        if kind != "board":
            senders.append(paced(args.messages, post))
        if kind == "chat":
            senders.append(paced(2.0, type_))
        await asyncio.gather(*senders)
        sending = time.perf_counter() - started  # longer than asked when the server lags
        expected = len(answered)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(  # noqa: ASYNC110  (polls many counts)
            len(v.events) < expected for v in viewers
        ):
            await asyncio.sleep(0.05)
        cpu = (server.cpu() - cpu_before) / (time.perf_counter() - started)
        gc.enable()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for viewer in viewers:
            await viewer.socket.close()

    moves, every, faults = [], [], 0
    worst: dict[str, float] = {}
    for viewer in viewers:
        seqs = [seq for seq, _, _ in viewer.events]
        if len(seqs) != expected or seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            faults += 1
        for _, key, at in viewer.events:
            if key in answered:
                every.append(at - answered[key])
                worst[key] = max(worst.get(key, 0.0), at - answered[key])
                if key in moved:
                    moves.append(at - answered[key])
        faults += len(viewer.problems)
    return Round(
        kind,
        moves,
        every,
        sum(len(v.events) for v in viewers),
        sum(v.presence for v in viewers),
        sum(v.unread for v in viewers),
        cpu,
        faults,
        sorted(
            (
                (late, answered[key] - started, "move" if key in moved else "message")
                for key, late in worst.items()
            ),
            reverse=True,
        )[:3],
        expected,
        sending,
    )


def report(result: Round, args: argparse.Namespace) -> None:
    print(
        f"{result.kind:8} round: {result.events} events sent at "
        f"{result.events / result.sending:.0f}/s | moves p50 "
        f"{fmt_ms(percentile(result.moves, 0.5))} p99 {fmt_ms(percentile(result.moves, 0.99))}"
        " | every board event p99 "
        f"{fmt_ms(percentile(result.every, 0.99))} | {result.deliveries} deliveries, "
        f"{result.presence} presence and {result.unread} unread frames | server CPU "
        f"{result.cpu * 100:.0f}% of a core | "
        f"{'all in order' if result.faults == 0 else f'{result.faults} FAULTS'} | slowest: "
        + ", ".join(f"{kind} at +{at:.1f} s {fmt_ms(late)}" for late, at, kind in result.slowest),
        flush=True,
    )


async def measure(server: Server, tokens: dict[str, str], args: argparse.Namespace) -> bool:
    rounds = []
    for _ in range(args.rounds):
        for kind in args.kinds:
            result = await one_round(server, tokens, kind, args)
            report(result, args)
            rounds.append(result)
    p99 = {
        kind: statistics.median(percentile(r.every, 0.99) for r in rounds if r.kind == kind)
        for kind in args.kinds
    }
    if set(p99) != set(KINDS):
        return all(r.faults == 0 for r in rounds)
    print(
        f"median p99 of board events: moves only {fmt_ms(p99['board'])}; with "
        f"{args.messages:.0f} messages/s {fmt_ms(p99['messages'])}; and presence and unread "
        f"on {args.chatters} of the {args.viewers} sockets {fmt_ms(p99['chat'])} = "
        f"{p99['chat'] / p99['messages']:.2f}x the same run without them"
    )
    return all(r.faults == 0 for r in rounds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_load", description=__doc__)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--chatters", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--moves", type=float, default=20.0)
    parser.add_argument("--messages", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    args = parser.parse_args(argv)
    raise_open_file_limit(2 * args.viewers + 512)

    from tests.live import FUNNELGRAPH, redis_server

    with redis_server() as redis, scratch_database() as db_url:
        tokens = asyncio.run(seed(db_url, args.viewers))
        env = production_env(db_url, redis.url, SECRET)
        with running([FUNNELGRAPH, "serve"], env, "funnelgraph") as server:
            ok = asyncio.run(measure(server, tokens, args))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
