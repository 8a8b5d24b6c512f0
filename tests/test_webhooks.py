"""Webhooks: who manages them, which receivers are refused, and deliveries to a real local
HTTP receiver by the app's own delivery worker (signed, in seq order, retried, turned
off after the failure window, replayed)."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import random
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from models import (
    Campaign,
    CampaignEvent,
    Permission,
    Webhook,
    WebhookDelivery,
    WebhookDeliveryStatus,
)
from resolvers import webhooks
from resolvers.ids import encode_id
from resolvers.webhook_delivery import Deliveries, DeliveryRules
from resolvers.webhook_urls import Receiver, UrlRules, checked_url
from server.settings import Environment, Settings, WebhookSettings
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)
from tests.live import redis_server, server_process
from tests.webhook_receiver import DROP, HANG, webhook_receiver

SALES = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_EDIT)

CREATE = """
mutation ($input: CreateWebhookInput!) {
  createWebhook(input: $input) {
    secret webhook { id url eventTypes active createdAt campaign { id } }
  }
}
"""
HOOKS = "query ($id: ID!) { campaign(id: $id) { webhooks { id url active } } }"
NODE = "query ($id: ID!) { node(id: $id) { id ... on Webhook { url } } }"
ACTIVE = "mutation ($id: ID!, $on: Boolean!) { setWebhookActive(id: $id, active: $on) { active } }"
DELETE = "mutation ($id: ID!) { deleteWebhook(id: $id) }"
REDELIVER = "mutation ($id: ID!, $after: String!) { redeliverWebhook(id: $id, after: $after) }"
DELIVERIES = """
query ($id: ID!) {
  node(id: $id) {
    ... on Webhook {
      active
      deliveries(first: 50) {
        totalCount
        edges { cursor node {
          eventCursor eventType status attempts lastStatusCode lastError nextAttemptAt
          deliveredAt
        } }
      }
    }
  }
}
"""
MOVE = "mutation ($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { version } }"
POST = "mutation ($input: PostChatMessageInput!) { postChatMessage(input: $input) { cursor } }"
EVENTS = "query ($id: ID!) { campaign(id: $id) { lastEventCursor } }"
NOTIFIED = "{ notifications(first: 5) { edges { node { kind campaign { id } } } } }"
DELETE_CAMPAIGN = "mutation ($id: ID!) { deleteCampaign(id: $id) }"

FAST = WebhookSettings(
    retry_base_seconds=0.02, poll_seconds=0.05, timeout_seconds=1.0, allow_private=True
)


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    """Deliveries polled every 50 ms, to local receivers; a test's `webhooks` marker
    gives its own WebhookSettings, its `production` marker production's rules."""
    marker = request.node.get_closest_marker("webhooks")
    production = request.node.get_closest_marker("production") is not None
    return make_settings(
        database_url,
        webhooks=marker.args[0] if marker else FAST,
        environment=Environment.PRODUCTION if production else Environment.DEVELOPMENT,
    )


async def team() -> tuple[Any, Any, Any, list[Any], Any]:
    manager = await make_user(*SALES, name="Mai")
    seller = await make_user(*SALES, name="An")
    campaign = await make_campaign(manager, participants=[seller])
    stages = await stages_of(campaign)
    customer = await make_customer(owner=manager)
    customer.phone = "+84 90 000 1234"
    await customer.save()
    card = await make_opportunity(campaign, customer, owner=seller)
    return manager, seller, campaign, stages, card


async def create(api, viewer, campaign, url, event_types=None):
    variables: dict[str, Any] = {"input": {"campaignId": gid("Campaign", campaign), "url": url}}
    if event_types is not None:
        variables["input"]["eventTypes"] = event_types
    return await api.execute(CREATE, variables, viewer=viewer)


async def moves(api, viewer, card, stages, count):
    for number in range(count):
        stage = stages[(number + 1) % len(stages)]
        variables = {"input": {"id": gid("Opportunity", card), "stageId": gid("Stage", stage)}}
        (await api.execute(MOVE, variables, viewer=viewer)).ok()


async def chat(api, viewer, campaign, body):
    variables = {"input": {"campaignId": gid("Campaign", campaign), "body": body}}
    (await api.execute(POST, variables, viewer=viewer)).ok()


async def event_seqs(campaign, after: int = 0, kinds=None) -> list[int]:
    query = CampaignEvent.filter(campaign_id=campaign.pk, seq__gt=after)
    if kinds is not None:
        query = query.filter(kind__in=kinds)
    return [event.seq for event in await query.order_by("seq")]


async def recorded_up_to(seq: int) -> None:
    """Wait for the worker to record the receiver's last answer (it has just arrived)."""
    for _ in range(100):
        if (await Webhook.get()).delivered_seq >= seq:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the delivery of seq {seq} was not recorded")


def attempts_counted(outcome: str) -> float:
    found = REGISTRY.get_sample_value("funnelgraph_webhook_deliveries_total", {"outcome": outcome})
    return found or 0.0


# --------------------------------------------------------------------------- managing


async def test_the_manager_creates_a_webhook_and_sees_its_secret_once(api):
    manager, _seller, campaign, _stages, _card = await team()
    created = (await create(api, manager, campaign, "https://8.8.8.8/hook")).ok()["createWebhook"]

    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 24
    hook = created["webhook"]
    assert hook["url"] == "https://8.8.8.8/hook"
    assert hook["eventTypes"] == [] and hook["active"] is True
    assert hook["campaign"]["id"] == gid("Campaign", campaign)
    listed = (await api.execute(HOOKS, {"id": gid("Campaign", campaign)}, viewer=manager)).ok()
    assert listed["campaign"]["webhooks"] == [
        {"id": hook["id"], "url": hook["url"], "active": True}
    ]
    # a second webhook gets a secret of its own
    again = (await create(api, manager, campaign, "https://8.8.4.4/")).ok()["createWebhook"]
    assert again["secret"] != created["secret"]


async def test_only_the_manager_and_campaign_edit_see_and_manage_webhooks(api):
    manager, seller, campaign, _stages, _card = await team()
    editor = await make_user(Permission.CAMPAIGN_EDIT, Permission.VIEW_ALL)
    outsider = await make_user(Permission.CAMPAIGN_EDIT)  # may edit, but does not see it
    hook = (await create(api, manager, campaign, "https://8.8.8.8/")).ok()["createWebhook"]
    hook_id = hook["webhook"]["id"]

    # a participant sees the campaign, but no webhook, and may not touch one
    seen = (await api.execute(HOOKS, {"id": gid("Campaign", campaign)}, viewer=seller)).ok()
    assert seen["campaign"]["webhooks"] == []
    assert (await create(api, seller, campaign, "https://8.8.8.8/")).codes == ["FORBIDDEN"]
    for query, variables in (
        (NODE, {"id": hook_id}),
        (ACTIVE, {"id": hook_id, "on": False}),
        (DELETE, {"id": hook_id}),
        (REDELIVER, {"id": hook_id, "after": "x"}),
    ):
        assert (await api.execute(query, variables, viewer=seller)).codes == ["NOT_FOUND"]
        assert (await api.execute(query, variables, viewer=outsider)).codes == ["NOT_FOUND"]
    assert (await Webhook.get()).active

    # CAMPAIGN_EDIT with sight of the campaign manages it like the manager
    switched = await api.execute(ACTIVE, {"id": hook_id, "on": False}, viewer=editor)
    assert switched.ok()["setWebhookActive"] == {"active": False}
    assert (await api.execute(NODE, {"id": hook_id}, viewer=editor)).ok()["node"]["id"] == hook_id
    assert (await api.execute(DELETE, {"id": hook_id}, viewer=editor)).ok() == {
        "deleteWebhook": hook_id
    }
    assert await Webhook.all().count() == 0
    assert (await api.execute(NODE, {"id": hook_id}, viewer=manager)).codes == ["NOT_FOUND"]


async def test_deleting_the_campaign_deletes_its_webhooks(api):
    manager, _seller, campaign, _stages, _card = await team()
    admin = await make_user(Permission.CAMPAIGN_DELETE, Permission.VIEW_ALL)
    (await create(api, manager, campaign, "https://8.8.8.8/")).ok()
    gone = await api.execute(DELETE_CAMPAIGN, {"id": gid("Campaign", campaign)}, viewer=admin)
    assert gone.ok()
    assert await Webhook.all().count() == 0


async def test_unknown_event_types_are_refused_and_nothing_is_written(api):
    manager, _seller, campaign, _stages, _card = await team()
    result = await create(
        api, manager, campaign, "https://8.8.8.8/", ["OpportunityMoved", "CardFlipped"]
    )
    assert result.codes == ["BAD_USER_INPUT"]
    assert "CardFlipped" in result.errors[0]["message"]
    # nor may an archived (read-only) campaign get one
    await Campaign.filter(id=campaign.pk).update(archived_at=datetime.now(UTC))
    archived = await create(api, manager, campaign, "https://8.8.8.8/")
    assert archived.codes == ["BAD_USER_INPUT"] and "archived" in archived.errors[0]["message"]
    assert await Webhook.all().count() == 0


REFUSED_EVERYWHERE = [
    "https://127.0.0.1/hook",
    "https://localhost/hook",  # resolves to loopback
    "https://10.1.2.3/hook",
    "https://192.168.1.10/hook",
    "https://172.16.0.5/hook",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
    "https://100.64.0.1/hook",  # shared address space
    "https://0.0.0.0/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[fe80::1]/hook",
    "https://224.0.0.1/hook",
    "ftp://8.8.8.8/hook",
    "https://user:secret@8.8.8.8/hook",
    "https:///hook",
    "not a url",
    "https://8.8.8.8:99999/hook",
    "https://no-such-host.invalid/hook",
]


@pytest.mark.production
@pytest.mark.webhooks(WebhookSettings())
@pytest.mark.parametrize("url", [*REFUSED_EVERYWHERE, "http://8.8.8.8/hook"])
async def test_private_and_malformed_receivers_are_refused_in_production(api, url):
    manager, _seller, campaign, _stages, _card = await team()
    result = await create(api, manager, campaign, url)
    assert result.codes == ["BAD_USER_INPUT"], result
    assert result.errors[0]["extensions"]["field"] == "url"
    assert await Webhook.all().count() == 0


@pytest.mark.webhooks(WebhookSettings())
async def test_development_allows_http_but_not_private_addresses(api):
    manager, _seller, campaign, _stages, _card = await team()
    assert (await create(api, manager, campaign, "http://8.8.8.8/hook")).ok()
    for url in REFUSED_EVERYWHERE[:4]:
        assert (await create(api, manager, campaign, url)).codes == ["BAD_USER_INPUT"]


async def test_an_address_turned_private_after_creation_is_refused_at_delivery(app, api):
    # given a webhook created while private receivers were allowed
    manager, _seller, campaign, stages, card = await team()
    async with webhook_receiver() as receiver:
        (await create(api, manager, campaign, receiver.url)).ok()
        await Webhook.all().update(active=False)  # this process's worker leaves it
        await moves(api, manager, card, stages, 1)
        hook = await Webhook.get()
        event = await CampaignEvent.get(campaign_id=campaign.pk, seq=hook.delivered_seq + 1)
        # when a process that refuses private addresses attempts it
        async with httpx.AsyncClient() as http:
            strict = Deliveries(DeliveryRules(urls=UrlRules(allow_http=True)), http)
            outcome = await strict.attempt(hook, event)
        # then nothing is sent, and the attempt says why
        assert not outcome.delivered and outcome.status_code is None
        assert "127.0.0.1" in (outcome.error or "") and "private" in (outcome.error or "")
        assert receiver.received == []


# --------------------------------------------------------------------------- delivering


async def test_every_event_arrives_signed_and_in_seq_order_despite_failures(app, api):
    # given a receiver that fails about half of all attempts at random, in four ways
    manager, seller, campaign, stages, card = await team()
    chooser = random.Random(7)

    def flaky(_attempt: int) -> int:  # a redirect is not followed: it fails too
        return chooser.choice([200, 200, 200, 500, 503, 302, DROP])

    counted_before = {outcome: attempts_counted(outcome) for outcome in ("delivered", "failed")}
    async with webhook_receiver(flaky) as receiver:
        created = (await create(api, manager, campaign, receiver.url)).ok()["createWebhook"]
        # when the campaign changes 12 times (moves and chat messages)
        for number in range(6):
            await moves(api, seller, card, stages, 1)
            await chat(api, manager, campaign, f"message {number}")
        expected = await event_seqs(campaign)
        assert len(expected) == 12
        await receiver.wait_for(lambda: len(receiver.delivered()) >= len(expected))
        await recorded_up_to(expected[-1])

        # then each event was answered 2xx once, in seq order
        assert [request.seq for request in receiver.delivered()] == expected
        # a failing event held the later ones: the attempts never go back in seq
        attempted = [request.seq for request in receiver.received]
        assert attempted == sorted(attempted)
        assert len(receiver.received) > len(expected), "the receiver failed none"
        secret = created["secret"]
        for request in receiver.received:
            payload = request.verified(secret)
            assert request.headers["webhook-id"] == payload["cursor"]
            assert payload["campaignId"] == gid("Campaign", campaign)
        first_move = receiver.delivered()[0].verified(secret)
        assert first_move["type"] == "OpportunityMoved"
        assert first_move["actorId"] == gid("User", seller)
        assert first_move["data"]["opportunityId"] == gid("Opportunity", card)
        assert first_move["data"]["toStageId"] == gid("Stage", stages[1])
        assert first_move["data"]["opportunity"]["id"] == gid("Opportunity", card)
        shown_card = first_move["data"]["opportunity"]
        assert shown_card["customerId"] == encode_id("Customer", card.customer_id)
        chat_posted = receiver.delivered()[1].verified(secret)
        assert chat_posted["type"] == "ChatMessagePosted" and "messageId" in chat_posted["data"]
        # no contact field, no chat text
        for request in receiver.received:
            assert b"+84 90" not in request.body and b"message 0" not in request.body

    # and the deliveries list each event, newest first
    listed = await api.execute(DELIVERIES, {"id": created["webhook"]["id"]}, viewer=manager)
    deliveries = listed.ok()["node"]["deliveries"]
    assert deliveries["totalCount"] == len(expected)
    nodes = [edge["node"] for edge in deliveries["edges"]]
    assert [node["eventCursor"] for node in nodes] == [
        request.payload["cursor"] for request in reversed(receiver.delivered())
    ]
    assert {node["status"] for node in nodes} == {"DELIVERED"}
    retried = [node for node in nodes if node["attempts"] > 1]
    assert retried and all(node["deliveredAt"] for node in nodes)
    assert sum(node["attempts"] for node in nodes) == len(receiver.received)
    # and the metrics counted each attempt by its outcome
    assert attempts_counted("delivered") - counted_before["delivered"] == len(expected)
    assert attempts_counted("failed") - counted_before["failed"] == len(receiver.received) - len(
        expected
    )


async def test_a_named_host_is_reached_at_an_address_checked_and_named_in_host(app, api):
    manager, seller, campaign, stages, card = await team()
    async with webhook_receiver() as receiver:
        named = receiver.url.replace("127.0.0.1", "localhost")  # ::1 may come first: refused
        (await create(api, manager, campaign, named)).ok()
        await moves(api, seller, card, stages, 1)
        await receiver.wait_for(lambda: len(receiver.delivered()) == 1)
        assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"
        assert receiver.received[0].headers["user-agent"].startswith("Funnelgraph-Webhooks/")


def test_a_checked_receiver_is_connected_to_by_address_and_named_by_host():
    url = checked_url("https://hooks.example.com/in?x=1", UrlRules())
    v4 = ipaddress.ip_address("93.184.216.34")
    v6 = ipaddress.ip_address("2606:2800:220:1::1")
    target = Receiver(url, (v6, v4))
    assert target.connect_url(v4) == "https://93.184.216.34:443/in?x=1"
    assert target.connect_url(v6) == "https://[2606:2800:220:1::1]:443/in?x=1"
    assert target.host_header() == "hooks.example.com"
    other_port = Receiver(checked_url("http://hooks.example.com:8080/", UrlRules(True)), (v4,))
    assert other_port.host_header() == "hooks.example.com:8080"


async def test_a_webhook_gets_only_its_event_types(app, api):
    manager, seller, campaign, stages, card = await team()
    async with webhook_receiver() as receiver:
        await create(api, manager, campaign, receiver.url, ["ChatMessagePosted"])
        await moves(api, seller, card, stages, 2)
        await chat(api, manager, campaign, "hello")
        await moves(api, seller, card, stages, 1)
        await chat(api, manager, campaign, "again")
        wanted = await event_seqs(campaign, kinds=["ChatMessagePosted"])
        await receiver.wait_for(lambda: len(receiver.delivered()) >= 2)
        await asyncio.sleep(0.3)  # nothing else comes
        assert [request.seq for request in receiver.received] == wanted
        assert {request.payload["type"] for request in receiver.received} == {"ChatMessagePosted"}


@pytest.mark.webhooks(
    WebhookSettings(
        retry_base_seconds=0.05,
        failure_window_seconds=1.0,
        poll_seconds=0.05,
        timeout_seconds=0.5,
        allow_private=True,
    )
)
async def test_a_failing_webhook_turns_off_tells_its_creator_and_resumes_where_it_stopped(app, api):
    manager, seller, campaign, stages, card = await team()
    healthy = False
    answers = [500, HANG, DROP]

    def answer(attempt: int) -> int:
        return 200 if healthy else answers[attempt % len(answers)]

    async with webhook_receiver(answer) as receiver:
        created = (await create(api, manager, campaign, receiver.url)).ok()["createWebhook"]
        hook_id = created["webhook"]["id"]
        await moves(api, seller, card, stages, 3)
        expected = await event_seqs(campaign)

        # the first event keeps failing for longer than the window: the webhook turns off
        async def turned_off() -> bool:
            return not (await Webhook.get()).active

        for _ in range(200):
            if await turned_off():
                break
            await asyncio.sleep(0.05)
        assert await turned_off()
        assert {request.seq for request in receiver.received} == {expected[0]}
        assert len(receiver.received) >= 3
        shown = (await api.execute(DELIVERIES, {"id": hook_id}, viewer=manager)).ok()["node"]
        assert shown["active"] is False
        [failed] = [edge["node"] for edge in shown["deliveries"]["edges"]]
        assert failed["status"] == "FAILED" and failed["attempts"] == len(receiver.received)
        assert failed["deliveredAt"] is None and failed["lastError"]
        told = (await api.execute(NOTIFIED, viewer=manager)).ok()["notifications"]["edges"]
        assert [edge["node"] for edge in told] == [
            {"kind": "WEBHOOK_DISABLED", "campaign": {"id": gid("Campaign", campaign)}}
        ]

        # when it is turned on again with the receiver mended, it goes on from that event
        healthy = True
        failed_attempts = len(receiver.received)
        (await api.execute(ACTIVE, {"id": hook_id, "on": True}, viewer=manager)).ok()
        await receiver.wait_for(lambda: len(receiver.delivered()) >= len(expected))
        assert [request.seq for request in receiver.received[failed_attempts:]] == expected


async def test_redelivery_sends_the_events_after_a_cursor_again_with_the_same_ids(app, api):
    manager, seller, campaign, stages, card = await team()
    async with webhook_receiver() as receiver:
        created = (await create(api, manager, campaign, receiver.url)).ok()["createWebhook"]
        hook_id = created["webhook"]["id"]
        await moves(api, seller, card, stages, 4)
        await receiver.wait_for(lambda: len(receiver.delivered()) >= 4)
        first = receiver.delivered()
        after = first[1].payload["cursor"]

        replayed = await api.execute(REDELIVER, {"id": hook_id, "after": after}, viewer=manager)
        assert replayed.ok()["redeliverWebhook"] == 2
        await receiver.wait_for(lambda: len(receiver.delivered()) >= 6)
        again = receiver.delivered()[4:]
        assert [request.headers["webhook-id"] for request in again] == [
            request.headers["webhook-id"] for request in first[2:]
        ]
        assert [request.body for request in again] != []

        # a cursor of another campaign, or past the newest event, is refused
        other = await make_campaign(manager)
        foreign = (await api.execute(EVENTS, {"id": gid("Campaign", other)}, viewer=manager)).ok()
        wrong = await api.execute(
            REDELIVER,
            {"id": hook_id, "after": foreign["campaign"]["lastEventCursor"]},
            viewer=manager,
        )
        assert wrong.codes == ["BAD_USER_INPUT"]


async def test_the_retention_drops_old_deliveries_but_keeps_what_is_waiting(app):
    _manager, _seller, campaign, _stages, _card = await team()
    hook = await Webhook.create(campaign_id=campaign.pk, url="https://8.8.8.8/", secret="whsec_x")
    now = datetime.now(UTC)
    for seq, status, delivered_at in (
        (1, WebhookDeliveryStatus.DELIVERED, now - timedelta(days=40)),
        (2, WebhookDeliveryStatus.DELIVERED, now - timedelta(days=1)),
        (3, WebhookDeliveryStatus.FAILED, None),
        (4, WebhookDeliveryStatus.PENDING, None),
    ):
        await WebhookDelivery.create(
            webhook_id=hook.pk,
            seq=seq,
            event_type="OpportunityMoved",
            status=status,
            delivered_at=delivered_at,
        )
    assert await webhooks.purge_delivered_before(now - timedelta(days=30)) == 1
    left = await WebhookDelivery.filter(webhook_id=hook.pk).order_by("seq")
    assert [row.seq for row in left] == [2, 3, 4]


# --------------------------------------------------------------------------- processes


@pytest.mark.postgres_only
@pytest.mark.webhooks(WebhookSettings(allow_private=True, deliver=False))  # the app stays out
async def test_a_second_process_finishes_what_a_process_killed_mid_delivery_left(
    app, api, database_url, tmp_path
):
    # given 30 events waiting for a receiver that takes 50 ms an answer
    manager, seller, campaign, stages, card = await team()
    async with webhook_receiver() as receiver:
        receiver.delay = 0.05
        (await create(api, manager, campaign, receiver.url)).ok()
        await moves(api, seller, card, stages, 30)
        expected = await event_seqs(campaign)
        environment = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET,
            "WEBHOOK_ALLOW_PRIVATE": "on",
            "WEBHOOK_POLL_SECONDS": "0.1",
            "WEBHOOK_TIMEOUT_SECONDS": "1",  # a lease of 3 s
        }
        with redis_server() as redis, ExitStack() as processes:
            environment["REDIS_URL"] = redis.url
            # when the process delivering them is killed (SIGKILL) a few events in
            _, first = await asyncio.to_thread(
                processes.enter_context, server_process(tmp_path, **environment)
            )
            await receiver.wait_for(lambda: len(receiver.delivered()) >= 5)
            first.kill()
            first.wait()
            before = len(receiver.received)
            assert before < len(expected)
            # and a second process starts on the same database
            await asyncio.to_thread(
                processes.enter_context, server_process(tmp_path, **environment)
            )
            await receiver.wait_for(
                lambda: {request.seq for request in receiver.delivered()} >= set(expected),
                seconds=30,
            )
        # then every event arrived, in seq order: at most the one under way was sent twice
        delivered = [request.seq for request in receiver.delivered()]
        assert delivered == sorted(delivered)
        assert sorted(set(delivered)) == expected
        assert len(delivered) - len(expected) <= 1
        assert len(receiver.received) > before


def test_the_wait_after_a_failure_doubles_from_the_base_up_to_an_hour():
    rules = DeliveryRules(urls=UrlRules(), retry_base_seconds=1.0)
    waits = [rules.wait_after(failures).total_seconds() for failures in range(1, 16)]
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert waits[-1] == 3600 and max(waits) == 3600
    assert rules.wait_after(10_000).total_seconds() == 3600
