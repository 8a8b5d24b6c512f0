"""Input no database can store is refused before it reaches one: NUL characters and lone
surrogates in any string, moments outside years 1 to 9999 in UTC. Each refusal is
BAD_USER_INPUT naming the argument path, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import ChatMessage, Communication, Customer, Permission, Task
from resolvers.pagination import encode_cursor
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user
from tests.test_activities import CUSTOMER_COMMUNICATIONS, SELLER, create_task, log

CREATE_CUSTOMER = (
    "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { name } }"
)
POST_CHAT_MESSAGE = """
mutation($input: PostChatMessageInput!) { postChatMessage(input: $input) { body } }
"""
CARD_MOMENTS = """
query($id: ID!) {
  opportunity(id: $id) {
    tasks { dueAt }
    communications { edges { node { occurredAt } } }
  }
}
"""
RANGE = "between 0001-01-01T00:00:00+00:00 and 9999-12-31T23:59:59.999999+00:00"


async def seller_and_card():
    seller = await make_user(*SELLER)
    campaign = await make_campaign(await make_user(), participants=[seller])
    return seller, await make_opportunity(campaign, await make_customer(), owner=seller)


def refusal(result) -> dict:
    assert result.codes == ["BAD_USER_INPUT"], result.errors
    return result.errors[0]


@pytest.mark.parametrize("name", ["Ann\x00", "\x00", "Ann\ud800", "\udfff Ann"])
async def test_create_customer_is_refused_when_the_name_holds_an_unstorable_character(api, name):
    # given
    viewer = await make_user()
    # when
    result = await api.execute(CREATE_CUSTOMER, {"input": {"name": name}}, viewer=viewer)
    # then
    error = refusal(result)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.name"}
    assert await Customer.all().count() == 0


async def test_create_customer_keeps_characters_beyond_the_basic_plane(api):
    # given: "😀" travels as the JSON surrogate pair "\ud83d\ude00"
    viewer = await make_user()
    # when
    result = await api.execute(CREATE_CUSTOMER, {"input": {"name": "Café 😀"}}, viewer=viewer)
    # then
    assert result.ok()["createCustomer"]["name"] == "Café 😀"
    assert (await Customer.get()).name == "Café 😀"


async def test_post_chat_message_is_refused_when_the_body_holds_a_lone_surrogate(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager)
    variables = {"input": {"campaignId": gid("Campaign", campaign), "body": "a\ud800b"}}
    # when
    result = await api.execute(POST_CHAT_MESSAGE, variables, viewer=manager)
    # then
    error = refusal(result)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.body"}
    assert "unpaired surrogate (U+D800)" in error["message"]
    assert await ChatMessage.all().count() == 0


async def test_a_nul_written_in_the_document_is_refused(api):
    # given
    viewer = await make_user(*Permission)
    # when
    result = await api.execute('{ users(search: "a\\u0000") { totalCount } }', viewer=viewer)
    # then
    error = refusal(result)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "search"}
    assert error["message"] == "search contains a NUL character (U+0000): remove it"


async def test_an_enum_sent_with_a_lone_surrogate_is_refused(api):
    # given
    seller, card = await seller_and_card()
    # when
    result = await log(api, seller, card, kind="CALL\ud800")
    # then
    error = refusal(result)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.kind"}
    assert await Communication.all().count() == 0


OUT_OF_RANGE = [
    "0001-01-01T00:00:00+23:59",  # 0000-12-31 in UTC
    "0001-01-01T23:58:59+23:59",
    "9999-12-31T23:59:59-00:01",  # year 10000 in UTC
    "9999-12-31T24:00:00",
]
AT_THE_EDGES = [
    ("0001-01-01T00:00:00+00:00", datetime.min.replace(tzinfo=UTC)),
    ("0001-01-01T23:59:00+23:59", datetime.min.replace(tzinfo=UTC)),
    ("9999-12-31T23:59:59.999999Z", datetime.max.replace(tzinfo=UTC)),
    ("9999-12-31T00:00:00-23:59", datetime(9999, 12, 31, 23, 59, tzinfo=UTC)),
]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
async def test_create_task_is_refused_when_due_at_is_out_of_range(api, moment):
    # given
    seller, card = await seller_and_card()
    # when
    result = await create_task(api, seller, card, dueAt=moment)
    # then
    error = refusal(result)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.dueAt"}
    assert error["message"] == f"input.dueAt must be {RANGE} once converted to UTC"
    assert await Task.all().count() == 0


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
async def test_log_communication_is_refused_when_occurred_at_is_out_of_range(api, moment):
    # given
    seller, card = await seller_and_card()
    # when
    result = await log(api, seller, card, occurredAt=moment)
    # then
    error = refusal(result)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.occurredAt"}
    assert RANGE in error["message"]
    assert await Communication.all().count() == 0


async def test_an_out_of_range_moment_written_in_the_document_is_refused(api):
    # given
    seller, card = await seller_and_card()
    document = (
        "mutation { createTask(input: {"
        f'opportunityId: "{gid("Opportunity", card)}", title: "t", '
        'dueAt: "0001-01-01T00:00:00+23:59"}) { id } }'
    )
    # when
    result = await api.execute(document, viewer=seller)
    # then
    assert refusal(result)["extensions"]["field"] == "input.dueAt"
    assert await Task.all().count() == 0


@pytest.mark.parametrize(("moment", "in_utc"), AT_THE_EDGES)
async def test_moments_at_the_edges_of_the_range_are_kept(api, moment, in_utc):
    # given
    seller, card = await seller_and_card()
    # when
    task = await create_task(api, seller, card, dueAt=moment)
    communication = await log(api, seller, card, occurredAt=moment)
    # then
    assert datetime.fromisoformat(task.ok()["createTask"]["dueAt"]) == in_utc
    assert datetime.fromisoformat(communication.ok()["logCommunication"]["occurredAt"]) == in_utc
    read = (await api.execute(CARD_MOMENTS, {"id": gid("Opportunity", card)}, viewer=seller)).ok()
    stored = read["opportunity"]
    assert datetime.fromisoformat(stored["tasks"][0]["dueAt"]) == in_utc
    assert (
        datetime.fromisoformat(stored["communications"]["edges"][0]["node"]["occurredAt"]) == in_utc
    )


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-00:01"])
async def test_a_cursor_forged_with_an_out_of_range_moment_is_refused(api, moment):
    # given
    seller, card = await seller_and_card()
    await log(api, seller, card)
    variables = {"id": gid("Customer", await card.customer), "after": encode_cursor([moment, 1])}
    # when
    result = await api.execute(CUSTOMER_COMMUNICATIONS, variables, viewer=seller)
    # then
    error = refusal(result)
    assert error["message"] == "'after' is not a cursor of this list"
