"""Live campaigns over real uvicorn processes, a real Redis and a real websocket client."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
import websockets

from models import CampaignEvent, CampaignMember, Permission
from server.auth import JwtTokens
from tests.conftest import TEST_SECRET
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)
from tests.live import LiveClient, post, redis_server, server_process, serving

SALES = (
    Permission.OPPORTUNITY_ACCESS,
    Permission.OPPORTUNITY_CREATE,
    Permission.OPPORTUNITY_EDIT,
)
EVENTS = """
subscription Board($campaignId: ID!, $after: String) {
  campaignEvents(campaignId: $campaignId, after: $after) {
    seq cursor
    payload {
      __typename
      ... on OpportunityMoved { opportunityId toStage { name } }
      ... on OpportunityAssigned { owner { name } }
      ... on ChatMessagePosted { message { body } }
      ... on CampaignUpdated { changedFields }
    }
  }
}
"""
CARD_PHONE = """
subscription Board($campaignId: ID!, $after: String) {
  campaignEvents(campaignId: $campaignId, after: $after) {
    seq payload { ... on OpportunityMoved { opportunity { customer { name phone } } } }
  }
}
"""
CHAT = """
subscription Chat($campaignId: ID!, $after: String) {
  campaignChat(campaignId: $campaignId, after: $after) { body cursor author { name } }
}
"""
NOTIFICATIONS = "subscription { myNotifications { kind cursor opportunity { name } } }"
LAST_CURSOR = "query($id: ID!) { campaign(id: $id) { lastEventCursor } }"
MOVE = "mutation($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { version } }"
ASSIGN = "mutation($input: AssignOpportunityInput!) { assignOpportunity(input: $input) { id } }"
POST = "mutation($input: PostChatMessageInput!) { postChatMessage(input: $input) { cursor } }"
UPDATE_CAMPAIGN = """
mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) { id } }
"""

pytestmark = pytest.mark.postgres_only


def token_for(user, ttl: int = 3600) -> str:
    return JwtTokens(TEST_SECRET, ttl).issue(user).token


async def board(app):
    """A manager, a participant, a campaign with three steps and one card."""
    manager = await make_user(*SALES, name="Mai")
    seller = await make_user(*SALES, name="An")
    campaign = await make_campaign(manager, participants=[seller])
    stages = await stages_of(campaign)
    card = await make_opportunity(campaign, await make_customer(owner=manager), owner=seller)
    return manager, seller, campaign, stages, card


def env(database_url: str, redis_url: str | None = None) -> dict[str, str]:
    values = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}
    if redis_url:
        values["REDIS_URL"] = redis_url
    return values


async def last_cursor(base, token, campaign) -> str:
    """Where a board loaded now ends: subscribing after it misses nothing."""
    result = await post(base, LAST_CURSOR, {"id": gid("Campaign", campaign)}, token)
    return str(result["data"]["campaign"]["lastEventCursor"])


async def move(base, token, card, stage, after=None):
    variables = {"input": {"id": gid("Opportunity", card), "stageId": gid("Stage", stage)}}
    if after is not None:
        variables["input"]["afterId"] = gid("Opportunity", after)
    result = await post(base, MOVE, variables, token)
    assert not result.get("errors"), result
    return result


async def test_events_written_on_one_process_reach_a_subscriber_on_another(
    app, database_url, tmp_path
):
    # given two server processes sharing PostgreSQL and Redis
    manager, _seller, campaign, stages, card = await board(app)
    token = token_for(manager)
    with (
        redis_server() as redis,
        serving(tmp_path, **env(database_url, redis.url)) as reader,
        serving(tmp_path, **env(database_url, redis.url)) as writer,
    ):
        client = await LiveClient.connect(reader, token)
        await client.subscribe(
            EVENTS,
            {
                "campaignId": gid("Campaign", campaign),
                "after": await last_cursor(reader, token, campaign),
            },
        )
        await asyncio.sleep(1.0)
        # when the other process writes a move, an assignment and a chat message
        started = time.monotonic()
        await move(writer, token, card, stages[1])
        await post(
            writer,
            ASSIGN,
            {"input": {"id": gid("Opportunity", card), "ownerId": gid("User", manager)}},
            token,
        )
        await post(
            writer,
            POST,
            {"input": {"campaignId": gid("Campaign", campaign), "body": "called them"}},
            token,
        )
        received = [(await client.next_data(timeout=1.0))["campaignEvents"] for _ in range(3)]
        elapsed = time.monotonic() - started
        await client.close()
    # then they arrive in seq order, within a second each
    assert [event["seq"] for event in received] == [1, 2, 3]
    assert [event["payload"]["__typename"] for event in received] == [
        "OpportunityMoved",
        "OpportunityAssigned",
        "ChatMessagePosted",
    ]
    assert received[0]["payload"]["toStage"]["name"] == stages[1].name
    assert received[1]["payload"]["owner"]["name"] == "Mai"
    assert received[2]["payload"]["message"]["body"] == "called them"
    assert elapsed < 3.0


async def test_resume_with_after_gets_exactly_the_missed_events_then_live_ones(
    app, database_url, tmp_path
):
    manager, _seller, campaign, stages, card = await board(app)
    token = token_for(manager)
    campaign_id = gid("Campaign", campaign)
    with redis_server() as redis, serving(tmp_path, **env(database_url, redis.url)) as base:
        # given a client that saw one event and disconnected
        client = await LiveClient.connect(base, token)
        await client.subscribe(
            EVENTS, {"campaignId": campaign_id, "after": await last_cursor(base, token, campaign)}
        )
        await asyncio.sleep(1.0)
        await move(base, token, card, stages[1])
        seen = (await client.next_data())["campaignEvents"]
        await client.close()
        # when three events happen while it is away, and it comes back with `after`
        for stage in (stages[2], stages[0], stages[1]):
            await move(base, token, card, stage)
        client = await LiveClient.connect(base, token)
        await client.subscribe(EVENTS, {"campaignId": campaign_id, "after": seen["cursor"]})
        missed = [(await client.next_data())["campaignEvents"]["seq"] for _ in range(3)]
        await move(base, token, card, stages[2])
        live = (await client.next_data())["campaignEvents"]["seq"]
        # then it gets exactly the missed ones, then the live one, and nothing else
        with pytest.raises(TimeoutError):
            await client.receive(timeout=0.5)
        await client.close()
    assert seen["seq"] == 1
    assert missed == [2, 3, 4]
    assert live == 5


async def test_writes_succeed_while_redis_is_down_and_open_streams_catch_up(
    app, database_url, tmp_path
):
    manager, _seller, campaign, stages, card = await board(app)
    token = token_for(manager)
    with (
        redis_server() as redis,
        serving(tmp_path, **env(database_url, redis.url)) as reader,
        serving(tmp_path, **env(database_url, redis.url)) as writer,
    ):
        client = await LiveClient.connect(reader, token)
        await client.subscribe(
            EVENTS,
            {
                "campaignId": gid("Campaign", campaign),
                "after": await last_cursor(reader, token, campaign),
            },
        )
        await asyncio.sleep(1.0)
        await move(writer, token, card, stages[1])
        assert (await client.next_data())["campaignEvents"]["seq"] == 1
        # when Redis stops, writes keep succeeding
        redis.stop()
        for stage in (stages[2], stages[0], stages[1]):
            await move(writer, token, card, stage)
        assert await CampaignEvent.filter(campaign_id=campaign.pk).count() == 4
        # and once it is back, the open stream delivers every event without reconnecting
        redis.start()
        caught_up = [
            (await client.next_data(timeout=20))["campaignEvents"]["seq"] for _ in range(3)
        ]
        await move(writer, token, card, stages[2])
        live = (await client.next_data(timeout=10))["campaignEvents"]["seq"]
        await client.close()
    assert caught_up == [2, 3, 4]
    assert live == 5


async def test_viewer_removed_from_participants_gets_forbidden_and_the_stream_ends(
    app, database_url, tmp_path
):
    manager, seller, campaign, stages, card = await board(app)
    with redis_server() as redis, serving(tmp_path, **env(database_url, redis.url)) as base:
        client = await LiveClient.connect(base, token_for(seller))
        op = await client.subscribe(
            EVENTS,
            {
                "campaignId": gid("Campaign", campaign),
                "after": await last_cursor(base, token_for(seller), campaign),
            },
        )
        await asyncio.sleep(1.0)
        # when the manager removes the participant, then moves a card
        await post(
            base,
            UPDATE_CAMPAIGN,
            {"input": {"id": gid("Campaign", campaign), "participantIds": []}},
            token_for(manager),
        )
        await move(base, token_for(manager), card, stages[2])
        first = await client.receive()
        second = await client.receive()
        # then the stream ends with FORBIDDEN, before any further event
        with pytest.raises(TimeoutError):
            await client.receive(timeout=0.5)
        await client.close()
    messages = [first, second]
    assert all(message["id"] == op for message in messages)
    errors = [
        m
        for m in messages
        if m["type"] in ("error", "next")
        and (m["payload"] if m["type"] == "error" else m["payload"].get("errors"))
    ]
    assert errors, messages
    payload_errors = errors[0]["payload"]
    payload_errors = (
        payload_errors if isinstance(payload_errors, list) else payload_errors["errors"]
    )
    assert payload_errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert not any(
        m["type"] == "next" and (m["payload"].get("data") or {}).get("campaignEvents")
        for m in messages
    )


async def test_contact_field_in_a_payload_is_shown_to_the_card_owner_and_the_manager(
    app, database_url, tmp_path
):
    manager, seller, campaign, stages, card = await board(app)
    with redis_server() as redis, serving(tmp_path, **env(database_url, redis.url)) as base:
        seller_client = await LiveClient.connect(base, token_for(seller))
        manager_client = await LiveClient.connect(base, token_for(manager))
        start = await last_cursor(base, token_for(manager), campaign)
        for client in (seller_client, manager_client):
            await client.subscribe(
                CARD_PHONE, {"campaignId": gid("Campaign", campaign), "after": start}
            )
        await asyncio.sleep(1.0)
        await move(base, token_for(manager), card, stages[1])
        seller_view = await seller_client.receive()
        manager_view = await manager_client.receive()
        await seller_client.close()
        await manager_client.close()
    # the seller owns the card, so sees the phone; a manager of the campaign too
    seller_customer = seller_view["payload"]["data"]["campaignEvents"]["payload"]
    assert seller_customer["opportunity"]["customer"]["phone"] is not None
    assert (
        manager_view["payload"]["data"]["campaignEvents"]["payload"]["opportunity"]["customer"][
            "phone"
        ]
        is not None
    )


async def test_contact_field_is_null_with_forbidden_for_a_participant_who_does_not_own_the_card(
    app, database_url, tmp_path
):
    manager, _seller, campaign, stages, card = await board(app)
    other = await make_user(*SALES, name="Binh")
    await CampaignMember.create(campaign_id=campaign.pk, user_id=other.pk, position=1)
    with redis_server() as redis, serving(tmp_path, **env(database_url, redis.url)) as base:
        client = await LiveClient.connect(base, token_for(other))
        await client.subscribe(
            CARD_PHONE,
            {
                "campaignId": gid("Campaign", campaign),
                "after": await last_cursor(base, token_for(other), campaign),
            },
        )
        await asyncio.sleep(1.0)
        await move(base, token_for(manager), card, stages[1])
        message = await client.receive()
        await client.close()
    payload = message["payload"]
    customer = payload["data"]["campaignEvents"]["payload"]["opportunity"]["customer"]
    assert customer["phone"] is None
    assert customer["name"]
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    assert payload["errors"][0]["path"][-1] == "phone"


async def test_subscribing_to_a_campaign_the_viewer_cannot_see_is_not_found(
    app, database_url, tmp_path
):
    _manager, _seller, campaign, _stages, _card = await board(app)
    outsider = await make_user(*SALES)
    with redis_server() as redis, serving(tmp_path, **env(database_url, redis.url)) as base:
        client = await LiveClient.connect(base, token_for(outsider))
        await client.subscribe(EVENTS, {"campaignId": gid("Campaign", campaign)})
        message = await client.receive()
        await client.close()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_chat_stream_and_my_notifications_deliver_live(app, database_url, tmp_path):
    manager, seller, campaign, stages, card = await board(app)
    with redis_server() as redis, serving(tmp_path, **env(database_url, redis.url)) as base:
        chat = await LiveClient.connect(base, token_for(seller))
        await chat.subscribe(
            CHAT,
            {
                "campaignId": gid("Campaign", campaign),
                "after": await last_cursor(base, token_for(seller), campaign),
            },
        )
        mine = await LiveClient.connect(base, token_for(manager))
        await mine.subscribe(NOTIFICATIONS)
        await asyncio.sleep(1.0)
        # when the manager moves a card (not chat) and posts; the seller assigns to the manager
        await move(base, token_for(manager), card, stages[1])
        await post(
            base,
            POST,
            {"input": {"campaignId": gid("Campaign", campaign), "body": "hello team"}},
            token_for(manager),
        )
        # (the manager is the actor of all three, so their notifications stay quiet)
        await post(
            base,
            ASSIGN,
            {"input": {"id": gid("Opportunity", card), "ownerId": gid("User", seller)}},
            token_for(manager),
        )
        message = (await chat.next_data())["campaignChat"]
        with pytest.raises(TimeoutError):
            await chat.receive(timeout=0.5)
        with pytest.raises(TimeoutError):
            await mine.receive(timeout=0.5)
        await chat.close()
        await mine.close()
    assert message["body"] == "hello team"
    assert message["author"]["name"] == "Mai"


async def test_my_notifications_tells_the_new_owner_live_and_resumes(app, database_url, tmp_path):
    manager, seller, _campaign, _stages, card = await board(app)
    assign = {"input": {"id": gid("Opportunity", card), "ownerId": gid("User", seller)}}
    unassign = {"input": {"id": gid("Opportunity", card), "ownerId": None}}
    with redis_server() as redis, serving(tmp_path, **env(database_url, redis.url)) as base:
        client = await LiveClient.connect(base, token_for(seller))
        await client.subscribe(NOTIFICATIONS)
        await asyncio.sleep(1.0)
        # when the manager gives the card to the seller
        await post(base, ASSIGN, unassign, token_for(manager))
        await post(base, ASSIGN, assign, token_for(manager))
        got = (await client.next_data())["myNotifications"]
        await client.close()
        # and, while the seller is away, assigns it again
        await post(base, ASSIGN, unassign, token_for(manager))
        await post(base, ASSIGN, assign, token_for(manager))
        client = await LiveClient.connect(base, token_for(seller))
        await client.subscribe(
            "subscription($after: String) { myNotifications(after: $after) { kind } }",
            {"after": got["cursor"]},
        )
        resumed = (await client.next_data())["myNotifications"]
        with pytest.raises(TimeoutError):
            await client.receive(timeout=0.5)
        await client.close()
    # then the assignment arrives live, and the missed one on resume, once
    assert got["kind"] == "OPPORTUNITY_ASSIGNED"
    assert got["opportunity"]["name"] == card.name
    assert resumed["kind"] == "OPPORTUNITY_ASSIGNED"


WIDE = (
    "subscription Board($campaignId: ID!, $after: String) { campaignEvents(campaignId: "
    "$campaignId, after: $after) { seq payload { ... on OpportunityMoved { "
    + " ".join(f"c{n}: opportunity {{ name customer {{ name }} }}" for n in range(30))
    + " } } } }"
)
STALLED_OPERATIONS = 16  # on the stalled socket: some 100 KiB a move, past any buffer


async def stalled_reader(base: str, token: str, variables: dict[str, str]) -> LiveClient:
    """A socket whose client reads nothing (a small receive buffer, one frame queued in
    the client at most), subscribed STALLED_OPERATIONS times: its buffers fill up, and
    then the server's."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", int(base.rsplit(":", 1)[1])))
    ws = await websockets.connect(
        base.replace("http://", "ws://") + "/graphql",
        sock=raw,
        subprotocols=["graphql-transport-ws"],
        max_queue=1,
    )
    client = LiveClient(ws)
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    for _ in range(STALLED_OPERATIONS):
        await client.subscribe(WIDE, variables)
    return client


async def test_a_subscriber_that_stops_reading_delays_no_one_and_then_gets_every_event(
    app, database_url, tmp_path
):
    # given a campaign whose live frames are large (a long card name, selected thirty
    # times), a subscriber reading them, and a socket of subscribers that reads nothing
    manager, _seller, campaign, stages, card = await board(app)
    card.name = "n" * 200
    await card.save()
    token = token_for(manager)
    moves = 100
    log = tmp_path / "server.log"
    with server_process(tmp_path, log, **env(database_url)) as (base, _server):
        variables = {"campaignId": gid("Campaign", campaign)}
        variables["after"] = await last_cursor(base, token, campaign)
        reader = await LiveClient.connect(base, token)
        await reader.subscribe(WIDE, variables)
        stalled = await stalled_reader(base, token, variables)
        await asyncio.sleep(0.5)
        # when many moves are made
        seen: list[int] = []
        for number in range(moves):
            await move(base, token, card, stages[number % 2 + 1])
            message = await reader.receive()
            seen.append(int(message["payload"]["data"]["campaignEvents"]["seq"]))
        # then the reading subscriber got each at once, in order,
        first = seen[0]
        assert seen == list(range(first, first + moves))
        # and each subscription of the stalled socket, read at last, gets every one of
        # them, in order, once
        late: dict[str, list[int]] = {}
        while sum(map(len, late.values())) < moves * STALLED_OPERATIONS:
            message = await stalled.receive(timeout=20)
            assert message["type"] == "next", message
            seq = int(message["payload"]["data"]["campaignEvents"]["seq"])
            late.setdefault(message["id"], []).append(seq)
        assert len(late) == STALLED_OPERATIONS
        assert all(seqs == seen for seqs in late.values())
        with pytest.raises(TimeoutError):
            await stalled.receive(timeout=0.5)
        await reader.close()
        await stalled.close()
    assert "Traceback" not in log.read_text()
