"""Grouped execution of live events equals each subscriber's own execution.

Every subscription runs twice over PostgreSQL and Redis: through the served schema
(one execution per group) and through a schema that executes each event for each
subscriber alone (the oracle). Both must give, event for event, the same answers.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from models import ChatMessage, Permission
from realtime.log import last_seq
from resolvers.context import Context
from resolvers.event_cursors import event_cursor
from schema.live_delivery import sending_to
from schema.live_groups import Rendered
from schema.schema import build_schema
from server.auth import JwtTokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)
from tests.live import redis_server

pytestmark = pytest.mark.postgres_only

SALES = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_EDIT)
BOARD = """
subscription Board($c: ID!, $a: String) {
  campaignEvents(campaignId: $c, after: $a) {
    seq cursor actor { name }
    payload {
      __typename
      ... on OpportunityMoved { opportunityId toStage { name } opportunity { name owner { name } } }
      ... on OpportunityAssigned { owner { name } previousOwner { id } }
      ... on OpportunityUpdated { changedFields opportunity { probability amount } }
      ... on ChatMessagePosted { message { body author { name } } }
      ... on CampaignUpdated { changedFields campaign { name participants { name } } }
    }
  }
}
"""
CONTACTS = """
subscription Contacts($c: ID!, $a: String) {
  campaignEvents(campaignId: $c, after: $a) {
    seq actor { name email }
    payload { ... on OpportunityMoved { opportunity { customer { name phone email } } } }
  }
}
"""
FRAGMENTS = """
subscription Aliased($c: ID!, $a: String) {
  ev: campaignEvents(campaignId: $c, after: $a) { s: seq payload { ...Cards } }
}
fragment Cards on CampaignEventPayload {
  ... on OpportunityMoved { card: opportunity { ...Card } }
  ... on OpportunityUpdated { card: opportunity { ...Card } }
}
fragment Card on Opportunity { id n: name stage { position } customer { name } }
"""
VARIABLE = """
subscription Owners($c: ID!, $a: String, $withOwner: Boolean!) {
  campaignEvents(campaignId: $c, after: $a) {
    seq
    payload { ... on OpportunityAssigned { opportunityId owner @include(if: $withOwner) { name } } }
  }
}
"""
CHAT = """
subscription Chat($c: ID!, $a: String) {
  campaignChat(campaignId: $c, after: $a) { body cursor author { name email } }
}
"""
# The viewer's own unread count, inside an event every viewer shares.
UNREAD = """
subscription Unread($c: ID!, $a: String) {
  campaignEvents(campaignId: $c, after: $a) {
    seq
    payload {
      ... on ChatMessagePosted { message { body campaign { unreadChatCount chatReadCursor } } }
      ... on ChatMessageEdited { message { body editedAt mentions { name } } }
    }
  }
}
"""
DOCUMENTS = {
    "board": BOARD,
    "unread": UNREAD,
    "contacts": CONTACTS,
    "fragments": FRAGMENTS,
    "variable": VARIABLE,
    "chat": CHAT,
}
VIEWERS = ("manager", "seller", "owner", "view_all", "no_cards")
MOVE = "mutation($i: MoveOpportunityInput!) { moveOpportunity(input: $i) { id } }"
ASSIGN = "mutation($i: AssignOpportunityInput!) { assignOpportunity(input: $i) { id } }"
UPDATE = "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { id } }"
POST = "mutation($i: PostChatMessageInput!) { postChatMessage(input: $i) { cursor } }"
MARK_READ = "mutation($c: ID!, $u: String!) { markChatRead(campaignId: $c, upTo: $u) { id } }"
UPDATE_CAMPAIGN = "mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { id } }"
QUIET_SECONDS = 0.3


@pytest.fixture
def redis():
    with redis_server() as server:
        yield server


@pytest.fixture
def settings(database_url, redis):
    return make_settings(database_url, redis_url=redis.url)


@pytest.fixture
def schemas(app):
    """The served schema (grouped) and the oracle (each subscriber alone)."""
    graphql = next(route.app for route in app.routes if getattr(route, "path", "") == "/graphql")
    return graphql.schema, build_schema(grouped=False)


@dataclass
class Team:
    users: dict[str, Any]
    campaign: Any
    stages: list[Any]
    card: Any


async def a_team() -> Team:
    """A manager and three participants (one without OPPORTUNITY_ACCESS; one who owns the
    card's customer) and a VIEW_ALL user outside the campaign; one card."""
    manager = await make_user(*SALES, name="Mai")
    seller = await make_user(*SALES, name="An")
    owner = await make_user(*SALES, name="Binh")
    no_cards = await make_user(name="Chi")
    view_all = await make_user(Permission.VIEW_ALL, Permission.OPPORTUNITY_ACCESS, name="Dung")
    campaign = await make_campaign(manager, participants=[seller, owner, no_cards])
    card = await make_opportunity(campaign, await make_customer(owner=owner), owner=manager)
    users = {"manager": manager, "seller": seller, "owner": owner, "view_all": view_all}
    users["no_cards"] = no_cards
    return Team(users, campaign, await stages_of(campaign), card)


@dataclass
class Stream:
    """One subscription's answers, in order, as JSON."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    direct: int = 0  # answers its stream sent itself


class _Sink:
    """A socket that takes every frame: from the stream, or sent for it while it waits."""

    def __init__(self, activity: asyncio.Event, stream: Stream) -> None:
        self.activity, self.stream = activity, stream

    async def __call__(self, rendered: Rendered) -> None:
        self.send_now(rendered)

    def send_now(self, rendered: Rendered) -> bool:
        self.stream.direct += 1
        self.stream.answers.append(_in_error_order(json.loads(rendered.text)))
        self.activity.set()
        return True


class Streams:
    def __init__(self, bus) -> None:
        self.bus = bus
        self.activity = asyncio.Event()
        self.all: list[tuple[str, Stream, Stream]] = []

    async def open(self, schemas, team: Team, viewer: str, document: str, replay: bool = False):
        """`viewer`'s subscription to `document`, from the log's start or from now."""
        after = event_cursor(team.campaign.pk, 0 if replay else await last_seq(team.campaign.pk))
        variables = {"c": gid("Campaign", team.campaign), "a": after, "withOwner": True}
        pair = []
        for schema in schemas:
            context = Context(team.users[viewer], JwtTokens(TEST_SECRET, 3600), bus=self.bus)
            source = await schema.subscribe(
                DOCUMENTS[document], variable_values=variables, context_value=context
            )
            stream = Stream()
            stream.task = self.read(source, stream, direct=schema is schemas[0])
            pair.append(stream)
        self.all.append((f"{viewer}/{document}", pair[0], pair[1]))

    def read(self, source, stream: Stream, direct: bool) -> asyncio.Task[None]:
        """A task reading `source`; `direct`: with a sink for the frames its stream sends
        itself (as a websocket's stream does), in order among the answers it yields."""
        if not direct:
            return asyncio.create_task(self._read(source, stream))
        with sending_to(_Sink(self.activity, stream)):
            return asyncio.create_task(self._read(source, stream))

    async def _read(self, source, stream: Stream) -> None:
        async for result in source:
            stream.answers.append(_in_error_order(_as_json(result)))
            self.activity.set()

    async def quiet(self, seconds: float = QUIET_SECONDS) -> None:
        """Until nothing has arrived for `seconds` (from now) and each grouped stream has
        as many answers as its oracle (for at most 10 s: the comparison tells the rest)."""
        deadline = time.monotonic() + 10
        while True:
            self.activity.clear()
            try:
                await asyncio.wait_for(self.activity.wait(), seconds)
            except TimeoutError:
                if self._even() or time.monotonic() > deadline:
                    return

    def _even(self) -> bool:
        return all(len(grouped.answers) == len(solo.answers) for _, grouped, solo in self.all)

    async def close(self) -> None:
        await self.quiet(1.0)
        for _, grouped, solo in self.all:
            for stream in (grouped, solo):
                assert stream.task is not None
                stream.task.cancel()
                await asyncio.gather(stream.task, return_exceptions=True)


def _in_error_order(answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` with its errors sorted by path: graphql-core lists errors in the order
    their resolvers fail, which is the order their loads come back in, so two executions
    of one event may list the same errors in another order (GraphQL gives it no meaning)."""
    if "errors" in answer:
        answer["errors"].sort(key=lambda error: json.dumps(error.get("path"), sort_keys=True))
    return answer


def _as_json(result) -> dict[str, Any]:
    if isinstance(result.data, Rendered):
        assert not result.errors
        return dict(json.loads(result.data.text))
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    return json.loads(json.dumps(answer))


async def mutate(api, team: Team, operation: str, step: int) -> None:
    manager = team.users["manager"]
    card_id = gid("Opportunity", team.card)
    if operation == "move":
        stage = team.stages[(step + 1) % len(team.stages)]
        variables = {"i": {"id": card_id, "stageId": gid("Stage", stage)}}
        await api.execute(MOVE, variables, viewer=manager)
    elif operation == "assign":
        owner = ("seller", "owner", "manager")[step % 3]
        variables = {"i": {"id": card_id, "ownerId": gid("User", team.users[owner])}}
        await api.execute(ASSIGN, variables, viewer=manager)
    elif operation == "update":
        variables = {"i": {"id": card_id, "probability": (step * 17) % 100}}
        await api.execute(UPDATE, variables, viewer=manager)
    elif operation == "read":  # the seller's own unread count drops; the others' stay
        newest = await ChatMessage.filter(campaign_id=team.campaign.pk).order_by("-seq").first()
        if newest is not None:
            variables = {
                "c": gid("Campaign", team.campaign),
                "u": event_cursor(team.campaign.pk, newest.seq),
            }
            result = await api.execute(MARK_READ, variables, viewer=team.users["seller"])
            assert not result.errors, result.errors
    else:
        variables = {"i": {"campaignId": gid("Campaign", team.campaign), "body": f"note {step}"}}
        await api.execute(POST, variables, viewer=manager)


async def drop_seller(api, team: Team) -> None:
    remaining = [gid("User", team.users[name]) for name in ("owner", "no_cards")]
    variables = {"i": {"id": gid("Campaign", team.campaign), "participantIds": remaining}}
    result = await api.execute(UPDATE_CAMPAIGN, variables, viewer=team.users["manager"])
    assert not result.errors, result.errors


def assert_equal_streams(streams: Streams) -> None:
    for label, grouped, solo in streams.all:
        assert grouped.answers == solo.answers, label


SUBSCRIBERS = st.lists(
    st.tuples(st.sampled_from(VIEWERS), st.sampled_from(sorted(DOCUMENTS)), st.booleans()),
    min_size=2,
    max_size=7,
)
CHANGES = st.lists(
    st.sampled_from(["move", "assign", "update", "post", "read"]), min_size=1, max_size=5
)


@examples(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(subscribers=SUBSCRIBERS, changes=CHANGES, access_loss=st.booleans())
@example(  # one scope, two unread counts: the seller's own reading makes them differ
    subscribers=[("seller", "unread", False), ("owner", "unread", False)],
    changes=["post", "read", "post"],
    access_loss=False,
)
async def test_grouped_streams_equal_each_viewers_own_execution(
    api, bus, schemas, subscribers, changes, access_loss
):
    # given a team, and subscribers of several documents, from the log's start or its head
    team = await a_team()
    await mutate(api, team, "move", 0)  # something to replay
    streams = Streams(bus)
    for viewer, document, replay in subscribers:
        await streams.open(schemas, team, viewer, document, replay)
    await streams.quiet()
    # when the campaign changes, one change at a time, and a participant may lose access
    for step, change in enumerate(changes, start=1):
        await mutate(api, team, change, step)
        await streams.quiet()
    if access_loss:
        await drop_seller(api, team)
        await streams.quiet()
        await mutate(api, team, "move", 99)
        await streams.quiet()
    await streams.close()
    # then every grouped stream got exactly what its viewer's own execution gives
    assert_equal_streams(streams)
    for label, grouped, _ in streams.all:
        if label == "manager/board":
            assert len(grouped.answers) >= len(changes) + access_loss * 2, grouped.answers


async def test_a_contact_field_shows_for_one_viewer_and_is_forbidden_for_another_of_a_group(
    api, bus, schemas
):
    # given the customer's owner and another seller on the contact document
    team = await a_team()
    streams = Streams(bus)
    for viewer in ("owner", "seller"):
        await streams.open(schemas, team, viewer, "contacts", None)
    await streams.quiet()
    # when the card moves
    await mutate(api, team, "move", 1)
    await streams.quiet()
    await streams.close()
    # then the owner sees the phone, the seller gets null and FORBIDDEN, as alone
    assert_equal_streams(streams)
    (_, owner, _), (_, seller, _) = streams.all
    customer = owner.answers[0]["data"]["campaignEvents"]["payload"]["opportunity"]["customer"]
    assert customer["phone"] is not None
    hidden = seller.answers[0]
    assert hidden["data"]["campaignEvents"]["payload"]["opportunity"]["customer"]["phone"] is None
    assert {e["extensions"]["code"] for e in hidden["errors"]} == {"FORBIDDEN"}


async def test_an_access_loss_ends_one_stream_while_its_group_goes_on(api, bus, schemas):
    # given two participants of the same scope on the same document
    team = await a_team()
    streams = Streams(bus)
    for viewer in ("seller", "owner"):
        await streams.open(schemas, team, viewer, "board", None)
    await streams.quiet()
    # when one of them is removed from the campaign, then the card moves
    await drop_seller(api, team)
    await streams.quiet()
    await mutate(api, team, "move", 1)
    await streams.quiet()
    await streams.close()
    # then the removed one's stream ended with FORBIDDEN; the other got both events
    assert_equal_streams(streams)
    (_, seller, _), (_, owner, _) = streams.all
    assert seller.answers[-1]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert [a["data"]["campaignEvents"]["payload"]["__typename"] for a in owner.answers] == [
        "CampaignUpdated",
        "OpportunityMoved",
    ]


async def test_a_thousand_subscribers_of_one_document_cost_one_execution_per_event(
    api, bus, schemas
):
    # given a thousand subscribers of one document, as the same and as different viewers
    team = await a_team()
    grouped, _ = schemas
    streams: list[Stream] = []
    readers = Streams(bus)
    viewers = ("manager", "seller", "view_all")  # one scope each
    for number in range(1000):
        viewer = team.users[viewers[number % 3] if number < 3 else "seller"]
        context = Context(viewer, JwtTokens(TEST_SECRET, 3600), bus=bus)
        after = event_cursor(team.campaign.pk, 0)
        variables = {"c": gid("Campaign", team.campaign), "a": after}
        source = await grouped.subscribe(BOARD, variable_values=variables, context_value=context)
        stream = Stream()
        stream.task = readers.read(source, stream, direct=True)
        streams.append(stream)
        readers.all.append(("", stream, stream))
    await readers.quiet()
    before = grouped.frames.executions
    # when three events happen
    for step in range(3):
        await mutate(api, team, "move", step)
        await readers.quiet()
    await readers.close()
    executed = grouped.frames.executions - before
    # then each subscriber got three answers, and each event was executed once per scope
    assert all(len(stream.answers) == 3 for stream in streams)
    assert executed == 3 * 3
    # and nearly all but the first of each group to reach an event sent its frame itself
    assert sum(stream.direct for stream in streams) >= 0.9 * 3 * (1000 - 3)
