"""What is recorded on a card: logCommunication, createTask, completeTask, createOrder,
and the communications a customer shows across its cards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models import Communication, Order, Permission, Task
from resolvers.ids import encode_id
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user

LOG_COMMUNICATION = """
mutation LogCommunication($input: LogCommunicationInput!) {
  logCommunication(input: $input) {
    id kind content occurredAt
    author { id }
    customer { id }
    opportunity { id }
  }
}
"""
CREATE_TASK = """
mutation CreateTask($input: CreateTaskInput!) {
  createTask(input: $input) { id title dueAt done assignee { id } opportunity { id } }
}
"""
COMPLETE_TASK = """
mutation CompleteTask($id: ID!) {
  completeTask(id: $id) { id done }
}
"""
CREATE_ORDER = """
mutation CreateOrder($input: CreateOrderInput!) {
  createOrder(input: $input) { id amount note createdBy { id } opportunity { id } }
}
"""
CARD_RECORDS = """
query CardRecords($id: ID!) {
  opportunity(id: $id) {
    communications { totalCount edges { node { id kind content author { id } } } }
    tasks { id title done assignee { id } }
    orders { id amount note }
  }
}
"""
CUSTOMER_COMMUNICATIONS = """
query CustomerCommunications($id: ID!, $first: Int, $after: String) {
  customer(id: $id) {
    communications(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id content occurredAt } }
    }
  }
}
"""

SELLER = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)


async def sales_team():
    """The owner of a card, a colleague taking part who does not own it, and the card."""
    owner = await make_user(*SELLER)
    colleague = await make_user(*SELLER)
    campaign = await make_campaign(await make_user(), participants=[owner, colleague])
    card = await make_opportunity(campaign, await make_customer(), owner=owner)
    return owner, colleague, campaign, card


async def log(api, viewer, card, content="Called about pricing", **values):
    variables = {
        "input": {"opportunityId": gid("Opportunity", card), "kind": "CALL", "content": content}
    }
    variables["input"].update(values)
    return await api.execute(LOG_COMMUNICATION, variables, viewer=viewer)


async def create_task(api, viewer, card, title="Send the quote", **values):
    variables = {"input": {"opportunityId": gid("Opportunity", card), "title": title, **values}}
    return await api.execute(CREATE_TASK, variables, viewer=viewer)


async def create_order(api, viewer, card, amount="300.00", **values):
    variables = {"input": {"opportunityId": gid("Opportunity", card), "amount": amount, **values}}
    return await api.execute(CREATE_ORDER, variables, viewer=viewer)


async def records(api, viewer, card) -> dict:
    result = await api.execute(CARD_RECORDS, {"id": gid("Opportunity", card)}, viewer=viewer)
    return result.ok()["opportunity"]


async def customer_page(api, viewer, customer, first=None, after=None) -> dict:
    variables = {"id": gid("Customer", customer), "first": first, "after": after}
    result = await api.execute(CUSTOMER_COMMUNICATIONS, variables, viewer=viewer)
    return result.ok()["customer"]["communications"]


# logCommunication


async def test_log_communication_shows_on_the_card(api):
    # given
    owner, _colleague, _campaign, card = await sales_team()
    before = datetime.now(UTC)
    # when
    result = await log(api, owner, card, content="  Called about pricing ", kind="MEETING")
    # then
    logged = result.ok()["logCommunication"]
    assert logged["kind"] == "MEETING"
    assert logged["content"] == "Called about pricing"
    assert logged["author"] == {"id": gid("User", owner)}
    assert logged["opportunity"] == {"id": gid("Opportunity", card)}
    assert logged["customer"] == {"id": encode_id("Customer", card.customer_id)}
    occurred_at = datetime.fromisoformat(logged["occurredAt"])
    assert before - timedelta(seconds=1) <= occurred_at <= datetime.now(UTC)
    shown = (await records(api, owner, card))["communications"]
    assert shown["totalCount"] == 1
    assert shown["edges"][0]["node"] == {
        "id": logged["id"],
        "kind": "MEETING",
        "content": "Called about pricing",
        "author": {"id": gid("User", owner)},
    }


async def test_log_communication_keeps_the_given_occurred_at(api):
    # given
    owner, _colleague, _campaign, card = await sales_team()
    # when
    result = await log(api, owner, card, occurredAt="2024-03-01T09:30:00+00:00")
    # then
    occurred_at = datetime.fromisoformat(result.ok()["logCommunication"]["occurredAt"])
    assert occurred_at == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("content", ["", "   "])
async def test_log_communication_is_refused_when_the_content_is_blank(api, content):
    # given
    owner, _colleague, _campaign, card = await sales_team()
    # when
    result = await log(api, owner, card, content=content)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "content" in result.errors[0]["message"]
    assert await Communication.all().count() == 0


async def test_log_communication_is_forbidden_to_a_participant_who_does_not_own_the_card(api):
    # given
    _owner, colleague, _campaign, card = await sales_team()
    # when
    result = await log(api, colleague, card)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert result.data is None
    assert await Communication.all().count() == 0


# createTask and completeTask


async def test_create_task_shows_on_the_card(api):
    # given
    owner, colleague, _campaign, card = await sales_team()
    # when
    result = await create_task(
        api,
        owner,
        card,
        title="Send the quote",
        dueAt="2030-01-02T08:00:00+00:00",
        assigneeId=gid("User", colleague),
    )
    # then
    task = result.ok()["createTask"]
    assert task["title"] == "Send the quote"
    assert task["done"] is False
    assert task["assignee"] == {"id": gid("User", colleague)}
    assert task["opportunity"] == {"id": gid("Opportunity", card)}
    assert datetime.fromisoformat(task["dueAt"]) == datetime(2030, 1, 2, 8, tzinfo=UTC)
    assert (await records(api, owner, card))["tasks"] == [
        {
            "id": task["id"],
            "title": "Send the quote",
            "done": False,
            "assignee": {"id": gid("User", colleague)},
        }
    ]


async def test_create_task_is_refused_when_the_title_is_blank(api):
    # given
    owner, _colleague, _campaign, card = await sales_team()
    # when
    result = await create_task(api, owner, card, title="  ")
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "title" in result.errors[0]["message"]
    assert await Task.all().count() == 0


async def test_create_task_is_forbidden_to_a_participant_who_does_not_own_the_card(api):
    # given
    _owner, colleague, _campaign, card = await sales_team()
    # when
    result = await create_task(api, colleague, card)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert await Task.all().count() == 0


async def test_complete_task_by_its_assignee_marks_it_done(api):
    # given an assignee who takes part but may not change the card otherwise
    owner = await make_user(*SELLER)
    assignee = await make_user(Permission.OPPORTUNITY_ACCESS)
    campaign = await make_campaign(await make_user(), participants=[owner, assignee])
    card = await make_opportunity(campaign, await make_customer(), owner=owner)
    task_id = (await create_task(api, owner, card, assigneeId=gid("User", assignee))).ok()[
        "createTask"
    ]["id"]
    # when
    result = await api.execute(COMPLETE_TASK, {"id": task_id}, viewer=assignee)
    # then
    assert result.ok()["completeTask"] == {"id": task_id, "done": True}
    assert (await records(api, owner, card))["tasks"][0]["done"] is True


async def test_complete_task_by_the_card_owner_marks_it_done(api):
    # given
    owner, colleague, _campaign, card = await sales_team()
    task_id = (await create_task(api, owner, card, assigneeId=gid("User", colleague))).ok()[
        "createTask"
    ]["id"]
    # when
    result = await api.execute(COMPLETE_TASK, {"id": task_id}, viewer=owner)
    # then
    assert result.ok()["completeTask"]["done"] is True


async def test_complete_task_is_forbidden_to_an_unrelated_participant(api):
    # given
    owner, colleague, _campaign, card = await sales_team()
    task_id = (await create_task(api, owner, card, assigneeId=gid("User", owner))).ok()[
        "createTask"
    ]["id"]
    # when
    result = await api.execute(COMPLETE_TASK, {"id": task_id}, viewer=colleague)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert result.data is None
    assert [task.done for task in await Task.all()] == [False]


# createOrder


async def test_create_order_shows_on_the_card(api):
    # given
    owner, _colleague, _campaign, card = await sales_team()
    # when
    result = await create_order(api, owner, card, "300.25", note="Extra licences")
    # then
    order = result.ok()["createOrder"]
    assert Decimal(order["amount"]) == Decimal("300.25")
    assert order["note"] == "Extra licences"
    assert order["createdBy"] == {"id": gid("User", owner)}
    assert order["opportunity"] == {"id": gid("Opportunity", card)}
    [shown] = (await records(api, owner, card))["orders"]
    assert shown["id"] == order["id"]
    assert Decimal(shown["amount"]) == Decimal("300.25")


async def test_create_order_is_refused_when_the_amount_is_negative(api):
    # given
    owner, _colleague, _campaign, card = await sales_team()
    # when
    result = await create_order(api, owner, card, "-5")
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "amount" in result.errors[0]["message"]
    assert await Order.all().count() == 0


async def test_create_order_is_forbidden_to_a_participant_who_does_not_own_the_card(api):
    # given
    _owner, colleague, _campaign, card = await sales_team()
    # when
    result = await create_order(api, colleague, card)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert await Order.all().count() == 0


# Customer.communications


async def test_customer_communications_spans_its_cards_newest_first(api):
    # given communications logged on two cards of the customer, in two campaigns
    owner = await make_user(*SELLER)
    customer = await make_customer()
    first_card = await make_opportunity(await make_campaign(owner), customer, owner=owner)
    second_card = await make_opportunity(await make_campaign(owner), customer, owner=owner)
    logged = [
        (first_card, "old", "2024-01-01T08:00:00+00:00"),
        (second_card, "newest", "2024-01-03T08:00:00+00:00"),
        (first_card, "middle", "2024-01-02T08:00:00+00:00"),
    ]
    for card, content, occurred_at in logged:
        (await log(api, owner, card, content=content, occurredAt=occurred_at)).ok()
    # when
    page = await customer_page(api, owner, customer)
    # then
    assert [edge["node"]["content"] for edge in page["edges"]] == ["newest", "middle", "old"]
    assert page["totalCount"] == 3


async def test_customer_communications_are_ordered_by_instant_whatever_the_offset(api):
    # given times sent with different UTC offsets, so their clock readings disagree
    owner = await make_user(*SELLER)
    customer = await make_customer()
    card = await make_opportunity(await make_campaign(owner), customer, owner=owner)
    logged = [
        ("03:00 UTC", "2024-01-01T10:00:00+07:00"),
        ("05:00 UTC", "2024-01-01T05:00:00+00:00"),
        ("04:00 UTC", "2024-01-01T00:00:00-04:00"),
    ]
    for content, occurred_at in logged:
        (await log(api, owner, card, content=content, occurredAt=occurred_at)).ok()
    # when
    page = await customer_page(api, owner, customer)
    tail = await customer_page(api, owner, customer, first=1, after=page["edges"][0]["cursor"])
    # then
    assert [edge["node"]["content"] for edge in page["edges"]] == [
        "05:00 UTC",
        "04:00 UTC",
        "03:00 UTC",
    ]
    assert [edge["node"]["content"] for edge in tail["edges"]] == ["04:00 UTC"]


async def test_customer_communications_pages_with_first_and_after(api):
    # given five communications an hour apart
    owner = await make_user(*SELLER)
    customer = await make_customer()
    card = await make_opportunity(await make_campaign(owner), customer, owner=owner)
    start = datetime(2024, 5, 1, 9, tzinfo=UTC)
    for hour in range(5):
        occurred_at = (start + timedelta(hours=hour)).isoformat()
        (await log(api, owner, card, content=f"hour {hour}", occurredAt=occurred_at)).ok()
    # when
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await customer_page(api, owner, customer, first=2, after=after)
        seen += [edge["node"]["content"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then
    assert seen == [f"hour {hour}" for hour in (4, 3, 2, 1, 0)]
    assert pages == 3


async def test_customer_communications_pages_through_equal_times_once_each(api):
    # given four communications logged at the same instant
    owner = await make_user(*SELLER)
    customer = await make_customer()
    card = await make_opportunity(await make_campaign(owner), customer, owner=owner)
    for number in range(4):
        content = f"note {number}"
        (await log(api, owner, card, content=content, occurredAt="2024-05-01T09:00:00Z")).ok()
    # when
    seen: list[str] = []
    after = None
    for _ in range(4):
        page = await customer_page(api, owner, customer, first=1, after=after)
        seen += [edge["node"]["content"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
    last = await customer_page(api, owner, customer, first=1, after=after)
    # then the newest logged comes first, and no page repeats or skips one
    assert seen == ["note 3", "note 2", "note 1", "note 0"]
    assert last["edges"] == []
    assert last["pageInfo"]["hasNextPage"] is False


async def test_create_task_is_refused_for_an_assignee_outside_the_campaign(api):
    # given
    owner, colleague, _campaign, card = await sales_team()
    outsider = await make_user(*SELLER)
    # when
    refused = await create_task(api, owner, card, assigneeId=gid("User", outsider))
    allowed = await create_task(api, owner, card, assigneeId=gid("User", colleague))
    # then
    assert refused.codes == ["BAD_USER_INPUT"]
    assert "assigneeId" in refused.errors[0]["message"]
    assert allowed.ok()
    assert await Task.all().count() == 1


async def test_communications_of_a_deleted_card_stay_with_author_and_owner_only(api):
    # given a note on a card that is then deleted
    customer_owner = await make_user(*SELLER)
    author = await make_user(*SELLER, Permission.OPPORTUNITY_DELETE)
    stranger = await make_user(*SELLER)
    campaign = await make_campaign(await make_user(), participants=[author])
    customer = await make_customer(owner=customer_owner)
    card = await make_opportunity(campaign, customer, owner=author)
    (await log(api, author, card, content="private note")).ok()
    await card.delete()
    # when
    seen_by = {
        name: [
            edge["node"]["content"] for edge in (await customer_page(api, user, customer))["edges"]
        ]
        for name, user in (("author", author), ("owner", customer_owner), ("stranger", stranger))
    }
    # then
    assert seen_by == {"author": ["private note"], "owner": ["private note"], "stranger": []}
