"""Chat state live across server processes: unread counts on every device, presence and
typing, mentions, edits and deletions (real uvicorn processes, PostgreSQL, Redis)."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from models import ChatMessage, Notification
from tests.factories import gid, make_campaign, make_user
from tests.live import LiveClient, post, redis_server, server_process, serving
from tests.test_chat_state import team
from tests.test_live import env, last_cursor, token_for

pytestmark = pytest.mark.postgres_only

UNREAD = """
subscription { myUnreadChat { campaign { name } unreadCount readCursor } }
"""
PRESENCE = """
subscription($id: ID!) { campaignPresence(campaignId: $id) { users { user { name } activity } } }
"""
NOTIFICATIONS = """
subscription { myNotifications { kind actor { name } chatMessage { body mentions { name } } } }
"""
EVENTS = """
subscription($campaignId: ID!, $after: String) {
  campaignEvents(campaignId: $campaignId, after: $after) {
    seq
    payload {
      __typename
      ... on ChatMessagePosted { message { body } }
      ... on ChatMessageEdited { message { body editedAt } }
      ... on ChatMessageDeleted { messageId }
    }
  }
}
"""
CHAT = """
subscription($campaignId: ID!, $after: String) {
  campaignChat(campaignId: $campaignId, after: $after) { body deletedAt }
}
"""
POST = """
mutation($input: PostChatMessageInput!) { postChatMessage(input: $input) { id cursor } }
"""
EDIT = "mutation($input: EditChatMessageInput!) { editChatMessage(input: $input) { id } }"
DELETE = "mutation($id: ID!) { deleteChatMessage(id: $id) { id } }"
MARK = """
mutation($campaignId: ID!, $upTo: String!) {
  markChatRead(campaignId: $campaignId, upTo: $upTo) { unreadChatCount }
}
"""
TYPING = "mutation($id: ID!, $typing: Boolean!) { setTyping(campaignId: $id, typing: $typing) }"


async def say(base, user, campaign, body, mentions=()):
    variables = {"input": {"campaignId": gid("Campaign", campaign), "body": body}}
    if mentions:
        variables["input"]["mentionIds"] = [gid("User", m) for m in mentions]
    return await post(base, POST, variables, token_for(user))


async def said(base, user, campaign, body, mentions=()):
    result = await say(base, user, campaign, body, mentions)
    assert not result.get("errors"), result
    return result["data"]["postChatMessage"]


async def presence_until(client, expected, timeout):
    """The presence frames until one shows `expected`; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        try:
            data = await client.next_data(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        seen = [(e["user"]["name"], e["activity"]) for e in data["campaignPresence"]["users"]]
        if seen == expected:
            return
    raise AssertionError(f"presence never showed {expected}; last {seen}")


async def test_marking_read_on_one_device_lowers_the_count_on_every_device(
    app, database_url, tmp_path
):
    # given An on two devices, each on its own server process, and a message by Mai
    manager, an, _binh, campaign = await team()
    with (
        redis_server() as redis,
        serving(tmp_path, **env(database_url, redis.url)) as one,
        serving(tmp_path, **env(database_url, redis.url)) as two,
    ):
        await said(one, manager, campaign, "first")
        phone = await LiveClient.connect(one, token_for(an))
        laptop = await LiveClient.connect(two, token_for(an))
        for device in (phone, laptop):
            await device.subscribe(UNREAD)
            first = (await device.next_data())["myUnreadChat"]
            assert first == {
                "campaign": {"name": campaign.name},
                "unreadCount": 1,
                "readCursor": None,
            }
        # when Mai posts again on one process
        second = await said(two, manager, campaign, "second")
        for device in (phone, laptop):
            assert (await device.next_data(timeout=2))["myUnreadChat"]["unreadCount"] == 2
        # and An marks it read on the phone
        started = time.monotonic()
        variables = {"campaignId": gid("Campaign", campaign), "upTo": second["cursor"]}
        marked = await post(one, MARK, variables, token_for(an))
        assert marked["data"]["markChatRead"] == {"unreadChatCount": 0}
        # then both devices show 0 within a second
        for device in (phone, laptop):
            update = (await device.next_data(timeout=1))["myUnreadChat"]
            assert (update["unreadCount"], update["readCursor"]) == (0, second["cursor"])
        assert time.monotonic() - started < 1.0
        await phone.close()
        await laptop.close()


async def test_presence_across_processes_with_typing_leaving_and_a_killed_process(
    app, database_url, tmp_path
):
    manager, an, binh, campaign = await team()
    variables = {"id": gid("Campaign", campaign)}
    with redis_server() as redis:
        settings = env(database_url, redis.url)
        with (
            serving(tmp_path, **settings) as one,
            serving(tmp_path, **settings) as two,
            server_process(tmp_path, **settings) as (three, doomed),
        ):
            # given Mai, An and Binh on three processes
            mai = await LiveClient.connect(one, token_for(manager))
            await mai.subscribe(PRESENCE, variables)
            await presence_until(mai, [("Mai", "VIEWING")], 5)
            an_client = await LiveClient.connect(two, token_for(an))
            await an_client.subscribe(PRESENCE, variables)
            binh_client = await LiveClient.connect(three, token_for(binh))
            await binh_client.subscribe(PRESENCE, variables)
            everyone = [("An", "VIEWING"), ("Binh", "VIEWING"), ("Mai", "VIEWING")]
            await presence_until(mai, everyone, 5)
            # when An types (through the first process), it shows, then lapses
            typing = await post(one, TYPING, {**variables, "typing": True}, token_for(an))
            assert typing["data"] == {"setTyping": True}
            await presence_until(mai, [("An", "TYPING"), *everyone[1:]], 3)
            await presence_until(mai, everyone, 8)
            # when An leaves, An is gone
            await an_client.close()
            await presence_until(mai, everyone[1:], 3)
            # when Binh's process is killed, Binh is gone within 30 s
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            killed = time.monotonic()
            await presence_until(mai, [("Mai", "VIEWING")], 30)
            assert time.monotonic() - killed < 30
            await mai.close()


async def test_a_mention_reaches_the_member_live_and_a_refused_one_writes_nothing(
    app, database_url, tmp_path
):
    manager, an, _binh, campaign = await team()
    outsider = await make_user(name="Out")
    with (
        redis_server() as redis,
        serving(tmp_path, **env(database_url, redis.url)) as one,
        serving(tmp_path, **env(database_url, redis.url)) as two,
    ):
        client = await LiveClient.connect(two, token_for(an))
        await client.subscribe(NOTIFICATIONS)
        await asyncio.sleep(0.5)  # nothing to receive first: give the subscription a moment
        refused = await say(one, manager, campaign, "hi @Out", [outsider])
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["BAD_USER_INPUT"]
        await said(one, manager, campaign, "@An call Hue Ceramics", [an])
        data = (await client.next_data())["myNotifications"]
        assert data == {
            "kind": "MENTIONED",
            "actor": {"name": "Mai"},
            "chatMessage": {"body": "@An call Hue Ceramics", "mentions": [{"name": "An"}]},
        }
        assert await ChatMessage.all().count() == 1
        assert await Notification.all().count() == 1
        await client.close()


async def test_edits_and_deletions_reach_the_board_in_order_and_replay_the_same(
    app, database_url, tmp_path
):
    manager, an, binh, campaign = await team()
    with (
        redis_server() as redis,
        serving(tmp_path, **env(database_url, redis.url)) as one,
        serving(tmp_path, **env(database_url, redis.url)) as two,
    ):
        start = await last_cursor(two, token_for(manager), campaign)
        variables = {"campaignId": gid("Campaign", campaign), "after": start}
        board = await LiveClient.connect(two, token_for(manager))
        await board.subscribe(EVENTS, variables)
        chat = await LiveClient.connect(two, token_for(manager))
        await chat.subscribe(CHAT, variables)
        # when An posts, edits, Mai deletes it, and An posts again (on the other process)
        message = await said(one, an, campaign, "Caled Hue")
        edit = {"input": {"id": message["id"], "body": "Called Hue"}}
        assert not (await post(one, EDIT, edit, token_for(an))).get("errors")
        refused = await post(one, DELETE, {"id": message["id"]}, token_for(binh))
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert not (await post(one, DELETE, {"id": message["id"]}, token_for(manager))).get(
            "errors"
        )
        await said(one, an, campaign, "Called Binh")
        # then the board gets every change in order; the chat only the new messages
        live = [(await board.next_data())["campaignEvents"] for _ in range(4)]
        assert [(e["seq"], e["payload"]["__typename"]) for e in live] == [
            (1, "ChatMessagePosted"),
            (2, "ChatMessageEdited"),
            (3, "ChatMessageDeleted"),
            (4, "ChatMessagePosted"),
        ]
        assert live[2]["payload"]["messageId"] == message["id"]
        messages = [(await chat.next_data())["campaignChat"] for _ in range(2)]
        assert messages[1] == {"body": "Called Binh", "deletedAt": None}
        # and a replay from the start is the same sequence
        replay = await LiveClient.connect(one, token_for(manager))
        await replay.subscribe(EVENTS, variables)
        again = [(await replay.next_data())["campaignEvents"] for _ in range(4)]
        assert [(e["seq"], e["payload"]["__typename"]) for e in again] == [
            (e["seq"], e["payload"]["__typename"]) for e in live
        ]
        for client in (board, chat, replay):
            await client.close()


async def test_one_execution_per_presence_change_serves_everyone_but_guards_stay_per_viewer(
    app, database_url, tmp_path
):
    # given ten sellers watching presence, and two viewers who also select emails
    manager, an, _binh, campaign = await team()
    sellers = [await make_user(name=f"Seller {n}") for n in range(10)]
    campaign = await make_campaign(manager, participants=[an, *sellers])
    variables = {"id": gid("Campaign", campaign)}
    everyone = sorted(
        [("Mai", "VIEWING"), ("An", "VIEWING")] + [(s.name, "VIEWING") for s in sellers]
    )
    with redis_server() as redis, serving(tmp_path, **env(database_url, redis.url)) as base:
        watchers = []
        for seller in sellers:
            client = await LiveClient.connect(base, token_for(seller))
            await client.subscribe(PRESENCE, variables)
            watchers.append(client)
        guarded = {}
        for user in (manager, an):
            client = await LiveClient.connect(base, token_for(user))
            await client.subscribe(PRESENCE_EMAILS, variables)
            guarded[user.name] = client
        for client in watchers:
            await presence_until(client, everyone, 10)
        for client in guarded.values():
            await _emails_until(client, len(everyone), 10)
        before = await _executions(base)
        # when An types
        typing = await post(base, TYPING, {**variables, "typing": True}, token_for(an))
        assert typing["data"] == {"setTyping": True}
        typist = [(n, "TYPING" if n == "An" else a) for n, a in everyone]
        for client in watchers:
            await presence_until(client, typist, 3)
        answers = {
            name: await _emails_until(client, len(everyone), 3) for name, client in guarded.items()
        }
        # then one execution served the ten, and each email viewer had their own
        assert await _executions(base) - before == 3
        for name, answer in answers.items():
            shown = {
                e["user"]["name"]: e["user"]["email"]
                for e in answer["data"]["campaignPresence"]["users"]
            }
            assert [n for n, email in shown.items() if email is not None] == [name]
            assert {error["extensions"]["code"] for error in answer["errors"]} == {"FORBIDDEN"}
        for client in [*watchers, *guarded.values()]:
            await client.close()


PRESENCE_EMAILS = """
subscription($id: ID!) {
  campaignPresence(campaignId: $id) { users { user { name email } activity } }
}
"""


async def _emails_until(client, count, timeout):
    """The next presence answer (data and errors) listing `count` users."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await client.receive(timeout=max(0.01, deadline - time.monotonic()))
        assert message["type"] == "next", message
        if len(message["payload"]["data"]["campaignPresence"]["users"]) == count:
            return message["payload"]
    raise AssertionError(f"no presence answer with {count} users")


async def _executions(base) -> int:
    async with httpx.AsyncClient() as http:
        return int((await http.get(f"{base}/healthz")).json()["live"]["event_executions"])
