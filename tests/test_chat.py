"""Campaign chat: who may post, what a message may be, and reading history backwards."""

from __future__ import annotations

import pytest

from models import ChatMessage, Permission
from tests.factories import gid, make_campaign, make_user

POST = """
mutation Post($input: PostChatMessageInput!) {
  postChatMessage(input: $input) { body author { name } cursor campaign { name } }
}
"""
HISTORY = """
query History($id: ID!, $last: Int, $before: String) {
  campaign(id: $id) {
    chatMessages(last: $last, before: $before) {
      edges { cursor node { body } }
      pageInfo { hasPreviousPage startCursor }
    }
  }
}
"""


async def post(api, viewer, campaign, body):
    variables = {"input": {"campaignId": gid("Campaign", campaign), "body": body}}
    return await api.execute(POST, variables, viewer=viewer)


@pytest.mark.parametrize("role", ["manager", "participant"])
async def test_manager_and_participants_may_post(api, role):
    # given
    manager = await make_user(name="Mai")
    member = await make_user(name="An")
    campaign = await make_campaign(manager, participants=[member])
    author = {"manager": manager, "participant": member}[role]
    # when
    result = await post(api, author, campaign, "Called Hue Ceramics")
    # then
    message = result.ok()["postChatMessage"]
    assert message["body"] == "Called Hue Ceramics"
    assert message["author"]["name"] == author.name
    assert await ChatMessage.filter(campaign_id=campaign.pk).count() == 1


async def test_a_view_all_user_who_takes_no_part_may_read_but_not_post(api):
    manager = await make_user()
    auditor = await make_user(Permission.VIEW_ALL)
    campaign = await make_campaign(manager)
    result = await post(api, auditor, campaign, "hello")
    assert result.codes == ["FORBIDDEN"]
    assert await ChatMessage.all().count() == 0


async def test_an_outsider_gets_not_found(api):
    manager = await make_user()
    outsider = await make_user()
    campaign = await make_campaign(manager)
    result = await post(api, outsider, campaign, "hello")
    assert result.codes == ["NOT_FOUND"]
    assert await ChatMessage.all().count() == 0


@pytest.mark.parametrize("body", ["", "   ", "\n\t", "x" * 4001])
async def test_a_blank_or_too_long_body_is_refused(api, body):
    manager = await make_user()
    campaign = await make_campaign(manager)
    result = await post(api, manager, campaign, body)
    assert result.codes == ["BAD_USER_INPUT"]
    assert "body" in result.errors[0]["message"]
    assert await ChatMessage.all().count() == 0


async def test_a_body_of_4000_characters_is_accepted(api):
    manager = await make_user()
    campaign = await make_campaign(manager)
    result = await post(api, manager, campaign, "x" * 4000)
    assert len(result.ok()["postChatMessage"]["body"]) == 4000


async def test_history_reads_backwards_oldest_first_within_a_page(api):
    # given seven messages
    manager = await make_user()
    campaign = await make_campaign(manager)
    for number in range(7):
        (await post(api, manager, campaign, f"m{number}")).ok()
    # when the newest three are read, then the three before them
    variables = {"id": gid("Campaign", campaign), "last": 3}
    newest = (await api.execute(HISTORY, variables, viewer=manager)).ok()
    page = newest["campaign"]["chatMessages"]
    variables["before"] = page["pageInfo"]["startCursor"]
    older = (await api.execute(HISTORY, variables, viewer=manager)).ok()
    older_page = older["campaign"]["chatMessages"]
    # then
    assert [edge["node"]["body"] for edge in page["edges"]] == ["m4", "m5", "m6"]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert [edge["node"]["body"] for edge in older_page["edges"]] == ["m1", "m2", "m3"]


async def test_history_is_hidden_from_an_outsider(api):
    manager = await make_user()
    outsider = await make_user()
    campaign = await make_campaign(manager)
    (await post(api, manager, campaign, "private")).ok()
    result = await api.execute(HISTORY, {"id": gid("Campaign", campaign)}, viewer=outsider)
    assert result.codes == ["NOT_FOUND"]
    assert result.data == {"campaign": None}
