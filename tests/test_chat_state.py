"""Chat beyond posting: mentions, edits and deletions, read markers and unread counts,
typing; as the API answers them (every backend)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import CampaignEvent, ChatMessage, EventKind, Notification, Permission
from tests.factories import gid, make_campaign, make_user

POST = """
mutation Post($input: PostChatMessageInput!) {
  postChatMessage(input: $input) { id body cursor mentions { name } }
}
"""
EDIT = """
mutation Edit($input: EditChatMessageInput!) {
  editChatMessage(input: $input) { id body editedAt deletedAt }
}
"""
DELETE = """
mutation Delete($id: ID!) { deleteChatMessage(id: $id) { id body deletedAt mentions { name } } }
"""
MARK = """
mutation Mark($campaignId: ID!, $upTo: String!) {
  markChatRead(campaignId: $campaignId, upTo: $upTo) { unreadChatCount chatReadCursor }
}
"""
UNREAD = "query($id: ID!) { campaign(id: $id) { unreadChatCount chatReadCursor } }"
HISTORY = """
query($id: ID!) {
  campaign(id: $id) { chatMessages { edges { node { body editedAt deletedAt } } } }
}
"""
NOTIFICATIONS = """
{ notifications { edges { node { kind actor { name } chatMessage { body } campaign { name } } } } }
"""
TYPING = "mutation($id: ID!, $typing: Boolean!) { setTyping(campaignId: $id, typing: $typing) }"


async def post(api, viewer, campaign, body, mentions=()):
    variables = {"input": {"campaignId": gid("Campaign", campaign), "body": body}}
    if mentions:
        variables["input"]["mentionIds"] = [gid("User", user) for user in mentions]
    return await api.execute(POST, variables, viewer=viewer)


async def team():
    manager = await make_user(name="Mai")
    an = await make_user(name="An")
    binh = await make_user(name="Binh")
    campaign = await make_campaign(manager, participants=[an, binh])
    return manager, an, binh, campaign


async def unread_of(api, viewer, campaign):
    result = await api.execute(UNREAD, {"id": gid("Campaign", campaign)}, viewer=viewer)
    return result.ok()["campaign"]


# ---------------------------------------------------------------- mentions


async def test_a_mention_tells_each_mentioned_member_but_not_the_author(api):
    manager, an, binh, campaign = await team()
    # when An mentions the manager, Binh and themself
    message = (await post(api, an, campaign, "@Mai @Binh see this", [manager, binh, an])).ok()
    # then the message lists them in the order named, and each other one is told
    assert [user["name"] for user in message["postChatMessage"]["mentions"]] == [
        "Mai",
        "Binh",
        "An",
    ]
    for user in (manager, binh):
        found = (await api.execute(NOTIFICATIONS, {}, viewer=user)).ok()
        nodes = [edge["node"] for edge in found["notifications"]["edges"]]
        assert nodes == [
            {
                "kind": "MENTIONED",
                "actor": {"name": "An"},
                "chatMessage": {"body": "@Mai @Binh see this"},
                "campaign": {"name": campaign.name},
            }
        ]
    assert not await Notification.filter(recipient_id=an.pk).exists()


@pytest.mark.parametrize("who", ["outsider", "unknown", "not a user id"])
async def test_a_mention_of_anyone_outside_the_campaign_is_refused_alike_and_writes_nothing(
    api, who
):
    manager, an, _binh, campaign = await team()
    outsider = await make_user(Permission.VIEW_ALL)  # sees the campaign, takes no part
    mention = {
        "outsider": gid("User", outsider),
        "unknown": gid("User", type("Row", (), {"pk": 999_999})()),
        "not a user id": gid("Campaign", campaign),
    }[who]
    variables = {
        "input": {
            "campaignId": gid("Campaign", campaign),
            "body": "hi",
            "mentionIds": [gid("User", manager), mention],
        }
    }
    result = await api.execute(POST, variables, viewer=an)
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["message"] == (
        "mentionIds: each must be the campaign's manager or one of its participants"
    )
    assert await ChatMessage.all().count() == 0
    assert await Notification.all().count() == 0
    assert not await CampaignEvent.filter(campaign_id=campaign.pk).exists()


# ---------------------------------------------------------------- edit and delete


async def test_the_author_edits_a_message_and_history_shows_it_edited(api):
    manager, an, _binh, campaign = await team()
    message = (await post(api, an, campaign, "Caled Hue")).ok()["postChatMessage"]
    edited = await api.execute(
        EDIT, {"input": {"id": message["id"], "body": "Called Hue"}}, viewer=an
    )
    assert edited.ok()["editChatMessage"]["body"] == "Called Hue"
    assert edited.ok()["editChatMessage"]["editedAt"] is not None
    history = (await api.execute(HISTORY, {"id": gid("Campaign", campaign)}, viewer=manager)).ok()
    [edge] = history["campaign"]["chatMessages"]["edges"]
    assert edge["node"]["body"] == "Called Hue"
    assert edge["node"]["editedAt"] == edited.ok()["editChatMessage"]["editedAt"]


@pytest.mark.parametrize("editor", ["manager", "other participant"])
async def test_nobody_but_the_author_may_edit(api, editor):
    manager, an, binh, campaign = await team()
    message = (await post(api, an, campaign, "mine")).ok()["postChatMessage"]
    who = {"manager": manager, "other participant": binh}[editor]
    result = await api.execute(EDIT, {"input": {"id": message["id"], "body": "theirs"}}, viewer=who)
    assert result.codes == ["FORBIDDEN"]
    assert (await ChatMessage.get()).body == "mine"


async def test_an_edit_keeps_the_body_rules_and_an_outsider_finds_nothing(api):
    _manager, an, _binh, campaign = await team()
    outsider = await make_user()
    message = (await post(api, an, campaign, "mine")).ok()["postChatMessage"]
    blank = await api.execute(EDIT, {"input": {"id": message["id"], "body": "  "}}, viewer=an)
    hidden = await api.execute(EDIT, {"input": {"id": message["id"], "body": "x"}}, viewer=outsider)
    assert blank.codes == ["BAD_USER_INPUT"]
    assert hidden.codes == ["NOT_FOUND"]
    assert (await ChatMessage.get()).body == "mine"


@pytest.mark.parametrize("deleter", ["author", "manager"])
async def test_the_author_or_the_manager_deletes_and_the_row_stays_empty(api, deleter):
    manager, an, binh, campaign = await team()
    (await post(api, an, campaign, "first")).ok()
    message = (await post(api, an, campaign, "oops @Binh", [binh])).ok()["postChatMessage"]
    (await post(api, an, campaign, "third")).ok()
    who = {"author": an, "manager": manager}[deleter]
    deleted = (await api.execute(DELETE, {"id": message["id"]}, viewer=who)).ok()
    assert deleted["deleteChatMessage"]["body"] == ""
    assert deleted["deleteChatMessage"]["mentions"] == []
    assert deleted["deleteChatMessage"]["deletedAt"] is not None
    history = (await api.execute(HISTORY, {"id": gid("Campaign", campaign)}, viewer=binh)).ok()
    bodies = [e["node"]["body"] for e in history["campaign"]["chatMessages"]["edges"]]
    assert bodies == ["first", "", "third"]


async def test_another_participant_may_not_delete_and_a_deleted_message_cannot_be_edited(api):
    _manager, an, binh, campaign = await team()
    message = (await post(api, an, campaign, "mine")).ok()["postChatMessage"]
    refused = await api.execute(DELETE, {"id": message["id"]}, viewer=binh)
    assert refused.codes == ["FORBIDDEN"]
    (await api.execute(DELETE, {"id": message["id"]}, viewer=an)).ok()
    again = await api.execute(DELETE, {"id": message["id"]}, viewer=an)
    edit = await api.execute(EDIT, {"input": {"id": message["id"], "body": "back"}}, viewer=an)
    assert again.ok()["deleteChatMessage"]["body"] == ""
    assert edit.codes == ["BAD_USER_INPUT"]


async def test_edits_and_deletions_are_logged_in_order(api):
    manager, an, _binh, campaign = await team()
    message = (await post(api, an, campaign, "a")).ok()["postChatMessage"]
    (await api.execute(EDIT, {"input": {"id": message["id"], "body": "b"}}, viewer=an)).ok()
    (await api.execute(EDIT, {"input": {"id": message["id"], "body": "b"}}, viewer=an)).ok()
    (await api.execute(DELETE, {"id": message["id"]}, viewer=manager)).ok()
    events = await CampaignEvent.filter(campaign_id=campaign.pk).order_by("seq")
    assert [(event.seq, event.kind) for event in events] == [
        (1, EventKind.CHAT_MESSAGE_POSTED),
        (2, EventKind.CHAT_MESSAGE_EDITED),  # the same body again logs nothing
        (3, EventKind.CHAT_MESSAGE_DELETED),
    ]
    assert [event.actor_id for event in events] == [an.pk, an.pk, manager.pk]


# ---------------------------------------------------------------- read markers


async def test_unread_counts_others_messages_after_the_marker_and_never_moves_back(api):
    manager, an, binh, campaign = await team()
    cursors = []
    for author, body in [(an, "1"), (manager, "2"), (binh, "3"), (an, "4")]:
        cursors.append((await post(api, author, campaign, body)).ok()["postChatMessage"]["cursor"])
    assert await unread_of(api, binh, campaign) == {"unreadChatCount": 3, "chatReadCursor": None}
    marked = await api.execute(
        MARK, {"campaignId": gid("Campaign", campaign), "upTo": cursors[2]}, viewer=binh
    )
    assert marked.ok()["markChatRead"] == {"unreadChatCount": 1, "chatReadCursor": cursors[2]}
    back = await api.execute(
        MARK, {"campaignId": gid("Campaign", campaign), "upTo": cursors[0]}, viewer=binh
    )
    assert back.ok()["markChatRead"] == {"unreadChatCount": 1, "chatReadCursor": cursors[2]}
    assert await unread_of(api, an, campaign) == {"unreadChatCount": 2, "chatReadCursor": None}


async def test_mark_read_refuses_a_cursor_that_is_no_message_of_this_chat(api):
    manager, an, _binh, campaign = await team()
    other = await make_campaign(manager, participants=[an])
    foreign = (await post(api, an, other, "elsewhere")).ok()["postChatMessage"]["cursor"]
    for up_to in [foreign, "garbage"]:
        result = await api.execute(
            MARK, {"campaignId": gid("Campaign", campaign), "upTo": up_to}, viewer=an
        )
        assert result.codes == ["BAD_USER_INPUT"]


async def test_an_outsider_can_neither_mark_read_nor_type(api):
    _manager, an, _binh, campaign = await team()
    outsider = await make_user()
    cursor = (await post(api, an, campaign, "hi")).ok()["postChatMessage"]["cursor"]
    mark = await api.execute(
        MARK, {"campaignId": gid("Campaign", campaign), "upTo": cursor}, viewer=outsider
    )
    typing = await api.execute(
        TYPING, {"id": gid("Campaign", campaign), "typing": True}, viewer=outsider
    )
    assert mark.codes == ["NOT_FOUND"]
    assert typing.codes == ["NOT_FOUND"]


async def test_typing_is_for_those_who_may_post(api):
    _manager, an, _binh, campaign = await team()
    auditor = await make_user(Permission.VIEW_ALL)
    ok = await api.execute(TYPING, {"id": gid("Campaign", campaign), "typing": True}, viewer=an)
    refused = await api.execute(
        TYPING, {"id": gid("Campaign", campaign), "typing": True}, viewer=auditor
    )
    assert ok.ok() == {"setTyping": True}
    assert refused.codes == ["FORBIDDEN"]


# One step of a chat's life: (author index, action, target index).
STEPS = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["post", "delete", "mark"]),
        st.integers(0, 20),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_unread_counts_equal_a_recount_of_the_history(api, steps):
    # given three members and a random run of posts, deletions and read markers
    users = await _fresh_team()
    manager, campaign = users[0], users[3]
    members = users[:3]
    posted: list[dict] = []  # the oracle's history: author, deleted, seq
    markers: dict[int, int] = {}
    for who, action, target in steps:
        user = members[who]
        if action == "post":
            found = (await post(api, user, campaign, f"m{len(posted)}")).ok()["postChatMessage"]
            posted.append({"author": user.pk, "deleted": False, "id": found["id"], **found})
        elif action == "delete" and posted:
            message = posted[target % len(posted)]
            result = await api.execute(DELETE, {"id": message["id"]}, viewer=manager)
            message["deleted"] = bool(result.ok())
        elif action == "mark" and posted:
            message = posted[target % len(posted)]
            variables = {"campaignId": gid("Campaign", campaign), "upTo": message["cursor"]}
            (await api.execute(MARK, variables, viewer=user)).ok()
            position = posted.index(message)
            markers[user.pk] = max(markers.get(user.pk, -1), position)
    # then each member's count is a recount of the history after their marker
    for user in members:
        after = markers.get(user.pk, -1)
        expected = sum(
            1
            for position, message in enumerate(posted)
            if position > after and not message["deleted"] and message["author"] != user.pk
        )
        found = await unread_of(api, user, campaign)
        assert found["unreadChatCount"] == expected
        cursor = posted[after]["cursor"] if after >= 0 else None
        assert found["chatReadCursor"] == cursor


async def _fresh_team():
    manager = await make_user()
    an = await make_user()
    binh = await make_user()
    campaign = await make_campaign(manager, participants=[an, binh])
    return [manager, an, binh, campaign]
