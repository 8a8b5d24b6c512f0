"""The websocket protocol's sign-in and close codes, resync, and the embedded default."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import websockets

from models import CampaignEvent
from tests.conftest import TEST_SECRET
from tests.factories import gid, make_campaign, make_user
from tests.live import (
    FUNNELGRAPH,
    SETTINGS_VARIABLES,
    LiveClient,
    post,
    server_process,
    serving,
)
from tests.test_live import EVENTS, SALES, token_for

ME = "query { me { name } }"


def env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}


async def closed_with(client: LiveClient, timeout: float = 5.0) -> int | None:
    try:
        while True:
            await asyncio.wait_for(client.socket.recv(), timeout)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


@pytest.mark.parametrize("token", [None, "not-a-jwt", "forged"])
async def test_connection_init_without_a_valid_token_closes_4403(
    app, database_url, tmp_path, token
):
    user = await make_user()
    if token == "forged":
        token = jwt.encode(
            {"sub": str(user.pk), "exp": datetime.now(UTC) + timedelta(hours=1)},
            "some-other-secret-key-0123456789abcdef",
            algorithm="HS256",
        )
    with serving(tmp_path, **env(database_url)) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            payload = {} if token is None else {"Authorization": f"Bearer {token}"}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_no_connection_init_within_ten_seconds_closes_4408(app, database_url, tmp_path):
    with serving(tmp_path, **env(database_url)) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 15)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4408


async def test_socket_closes_4403_when_its_token_expires(app, database_url, tmp_path):
    user = await make_user()
    with serving(tmp_path, **env(database_url)) as base:
        # given a socket signed in with a token that has two seconds left
        short = jwt.encode(
            {"sub": str(user.pk), "exp": datetime.now(UTC) + timedelta(seconds=2)},
            TEST_SECRET,
            algorithm="HS256",
        )
        client = await LiveClient.connect(base, short)
        # when the token expires, then the server closes the socket with 4403
        code = await closed_with(client, timeout=10)
    assert code == 4403


async def test_legacy_graphql_ws_protocol_is_not_offered(app, database_url, tmp_path):
    with serving(tmp_path, **env(database_url)) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        with pytest.raises((websockets.InvalidHandshake, websockets.ConnectionClosed)):
            await legacy_handshake(url)


async def legacy_handshake(url: str) -> None:
    async with websockets.connect(url, subprotocols=["graphql-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        await asyncio.wait_for(ws.recv(), 5)


async def test_a_cursor_older_than_the_kept_log_ends_with_resync_required(
    app, database_url, tmp_path
):
    # given a campaign whose first events were purged by retention
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    with serving(tmp_path, **env(database_url)) as base:
        token = token_for(manager)
        start = (
            await post(
                base,
                "query($id: ID!) { campaign(id: $id) { lastEventCursor } }",
                {"id": gid("Campaign", campaign)},
                token,
            )
        )["data"]["campaign"]["lastEventCursor"]
        for body in ("one", "two", "three"):
            await post(
                base,
                "mutation($i: PostChatMessageInput!) { postChatMessage(input: $i) { id } }",
                {"i": {"campaignId": gid("Campaign", campaign), "body": body}},
                token,
            )
        await CampaignEvent.filter(campaign_id=campaign.pk, seq__lte=2).delete()
        # when a client resumes from before the purge
        client = await LiveClient.connect(base, token)
        await client.subscribe(EVENTS, {"campaignId": gid("Campaign", campaign), "after": start})
        message = await client.receive()
        await client.close()
    # then
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "RESYNC_REQUIRED"


async def test_embedded_default_delivers_live_events_in_one_process(tmp_path):
    # given a server with nothing configured but its working directory (SQLite, memory bus)
    clean_env = {}
    created = await asyncio.to_thread(
        subprocess.run,
        [
            FUNNELGRAPH,
            "create-user",
            "--email",
            "m@example.com",
            "--name",
            "Mai",
            "--password",
            "password-123",
            "--permission",
            "CAMPAIGN_CREATE",
            "--permission",
            "OPPORTUNITY_ACCESS",
            "--permission",
            "OPPORTUNITY_CREATE",
            "--permission",
            "OPPORTUNITY_EDIT",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in __import__("os").environ.items() if k not in SETTINGS_VARIABLES},
    )
    assert created.returncode == 0, created.stderr
    with serving(tmp_path, **clean_env) as base:
        login = await post(
            base,
            'mutation { login(email: "m@example.com", password: "password-123") { token } }',
            {},
            "",
        )
        token = login["data"]["login"]["token"]
        made = await post(
            base,
            'mutation { createCampaign(input: {name: "Spring", '
            'stages: ["New", "Won"]}) { id lastEventCursor stages { id } } }',
            {},
            token,
        )
        campaign = made["data"]["createCampaign"]
        customer = (
            await post(
                base, 'mutation { createCustomer(input: {name: "Hue Ceramics"}) { id } }', {}, token
            )
        )["data"]["createCustomer"]["id"]
        client = await LiveClient.connect(base, token)
        await client.subscribe(
            EVENTS, {"campaignId": campaign["id"], "after": campaign["lastEventCursor"]}
        )
        # when a card is added and moved
        card = await post(
            base,
            "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }",
            {"i": {"campaignId": campaign["id"], "customerId": customer}},
            token,
        )
        card_id = card["data"]["createOpportunity"]["id"]
        await post(
            base,
            "mutation($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id } }",
            {"i": {"id": card_id, "stageId": campaign["stages"][1]["id"]}},
            token,
        )
        received = [(await client.next_data())["campaignEvents"] for _ in range(3)]
        await client.close()
    # then all arrive, in order: the creation, its owner (the creator), the move
    assert [event["seq"] for event in received] == [1, 2, 3]
    assert [event["payload"]["__typename"] for event in received] == [
        "OpportunityCreated",
        "OpportunityAssigned",
        "OpportunityMoved",
    ]


async def test_sigterm_closes_sockets_cleanly_and_clients_resume_with_after(
    app, database_url, tmp_path
):
    # given a subscriber that has seen one event
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    token = token_for(manager)
    campaign_id = gid("Campaign", campaign)
    with server_process(tmp_path, **env(database_url)) as (base, process):
        start = await last_event_cursor(base, token, campaign_id)
        client = await LiveClient.connect(base, token)
        await client.subscribe(EVENTS, {"campaignId": campaign_id, "after": start})
        await post_chat(base, token, campaign_id, "before the restart")
        seen = (await client.next_data())["campaignEvents"]
        # when the server is told to stop
        process.send_signal(signal.SIGTERM)
        code = await closed_with(client, timeout=10)
        process.wait(timeout=20)
    # then the socket was closed with "service restart", and a new server resumes after it
    assert code == 1012
    with serving(tmp_path, **env(database_url)) as base:
        await post_chat(base, token, campaign_id, "after the restart")
        client = await LiveClient.connect(base, token)
        await client.subscribe(EVENTS, {"campaignId": campaign_id, "after": seen["cursor"]})
        resumed = (await client.next_data())["campaignEvents"]
        await client.close()
    assert resumed["seq"] == seen["seq"] + 1
    assert resumed["payload"]["message"]["body"] == "after the restart"


async def last_event_cursor(base: str, token: str, campaign_id: str) -> str:
    result = await post(
        base,
        "query($id: ID!) { campaign(id: $id) { lastEventCursor } }",
        {"id": campaign_id},
        token,
    )
    return str(result["data"]["campaign"]["lastEventCursor"])


async def post_chat(base: str, token: str, campaign_id: str, body: str) -> None:
    result = await post(
        base,
        "mutation($i: PostChatMessageInput!) { postChatMessage(input: $i) { id } }",
        {"i": {"campaignId": campaign_id, "body": body}},
        token,
    )
    assert not result.get("errors"), result


async def test_operations_on_one_socket_do_not_share_stale_access(app, database_url, tmp_path):
    # given a participant who read the campaign over their socket
    manager = await make_user(*SALES)
    member = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[member])
    query = "query($id: ID!) { campaign(id: $id) { name } }"
    variables = {"id": gid("Campaign", campaign)}
    with serving(tmp_path, **env(database_url)) as base:
        client = await LiveClient.connect(base, token_for(member))
        await client.subscribe(query, variables)
        first = await client.receive()
        await client.receive()  # complete
        # when the manager removes them, and they read again on the same socket
        removed = await post(
            base,
            "mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { id } }",
            {"i": {"id": gid("Campaign", campaign), "participantIds": []}},
            token_for(manager),
        )
        assert not removed.get("errors"), removed
        await client.subscribe(query, variables)
        second = await client.receive()
        await client.close()
    # then the second read answers NOT_FOUND
    assert first["payload"]["data"]["campaign"]["name"] == campaign.name
    assert second["payload"]["data"] == {"campaign": None}
    assert second["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_every_message_goes_in_a_text_frame(app, database_url, tmp_path):
    # The protocol's messages are JSON text: a binary frame reaches a browser as a Blob.
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    token = token_for(manager)
    with serving(tmp_path, **env(database_url)) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                )
            )
            received = [await asyncio.wait_for(ws.recv(), 5)]  # connection_ack
            await ws.send(json.dumps({"type": "ping"}))
            received.append(await asyncio.wait_for(ws.recv(), 5))  # pong
            subscribe = {"query": EVENTS, "variables": {"campaignId": gid("Campaign", campaign)}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
            bad = {"query": "subscription { nothing }"}
            await ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": bad}))
            received.append(await asyncio.wait_for(ws.recv(), 5))  # error
            await ws.send(json.dumps({"id": "1", "type": "complete"}))
            await ws.send(json.dumps({"type": "ping"}))
            received.append(await asyncio.wait_for(ws.recv(), 5))
    assert [json.loads(message)["type"] for message in received] == [
        "connection_ack",
        "pong",
        "error",
        "pong",
    ]
    assert all(isinstance(message, str) for message in received), received
