"""Notifications: who is told of new, assigned and overdue cards, listing and marking read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import Notification, Permission
from resolvers.registration import notify_overdue_registrations
from tests.card_helpers import SALES, make_notification
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user

NOTIFICATIONS = """
query Notifications($unreadOnly: Boolean! = false) {
  notifications(unreadOnly: $unreadOnly) {
    totalCount
    edges { node { id kind readAt actor { id } opportunity { id } campaign { id } } }
  }
}
"""
MARK_NOTIFICATIONS_READ = """
mutation MarkNotificationsRead($ids: [ID!]) {
  markNotificationsRead(ids: $ids)
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) { id ... on Notification { kind } }
}
"""
CREATE_OPPORTUNITY = """
mutation CreateOpportunity($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) { id owner { id } }
}
"""
CLAIM_OPPORTUNITY = """
mutation ClaimOpportunity($id: ID!) {
  claimOpportunity(id: $id) { id owner { id } }
}
"""
ASSIGN_OPPORTUNITY = """
mutation AssignOpportunity($input: AssignOpportunityInput!) {
  assignOpportunity(input: $input) { id owner { id } }
}
"""
UPDATE_CAMPAIGN_PARTICIPANTS = """
mutation UpdateCampaign($input: UpdateCampaignInput!) {
  updateCampaign(input: $input) { id }
}
"""


async def create(api, viewer, campaign, **values) -> dict:
    """createOpportunity for a fresh customer; returns the card."""
    variables = {
        "input": {
            "campaignId": gid("Campaign", campaign),
            "customerId": gid("Customer", await make_customer()),
            **values,
        }
    }
    return (await api.execute(CREATE_OPPORTUNITY, variables, viewer=viewer)).ok()[
        "createOpportunity"
    ]


async def inbox(api, user, *, unread_only: bool = False) -> list[dict]:
    """The user's notifications as their client lists them, newest first."""
    result = await api.execute(NOTIFICATIONS, {"unreadOnly": unread_only}, viewer=user)
    connection = result.ok()["notifications"]
    assert connection["totalCount"] == len(connection["edges"])
    return [edge["node"] for edge in connection["edges"]]


async def told(api, user) -> list[tuple[str, str | None]]:
    """(kind, opportunity id) of each of the user's notifications, newest first."""
    return [(node["kind"], node["opportunity"]["id"]) for node in await inbox(api, user)]


# Adding a customer


async def test_adding_a_customer_without_auto_assign_notifies_every_member_but_the_actor(api):
    # given
    manager = await make_user(*SALES)
    adder, b, c = [await make_user(*SALES) for _ in range(3)]
    campaign = await make_campaign(manager, participants=[adder, b, c])
    # when a participant adds a customer for a claim
    card = await create(api, adder, campaign, owner="NOBODY")
    # then
    for user in (manager, b, c):
        [notification] = await inbox(api, user)
        assert notification["kind"] == "OPPORTUNITY_ADDED"
        assert notification["actor"] == {"id": gid("User", adder)}
        assert notification["opportunity"] == {"id": card["id"]}
        assert notification["campaign"] == {"id": gid("Campaign", campaign)}
        assert notification["readAt"] is None
    assert await inbox(api, adder) == []


async def test_adding_a_customer_with_auto_assign_notifies_only_the_new_owner_and_manager(api):
    # given a rotation of a, b and the adder
    manager = await make_user(*SALES)
    a, b, adder = [await make_user(*SALES) for _ in range(3)]
    campaign = await make_campaign(manager, participants=[a, b, adder], auto_assign=True)
    # when
    card = await create(api, adder, campaign, owner="NOBODY")
    # then
    assert card["owner"] == {"id": gid("User", a)}
    assert await told(api, a) == [
        ("OPPORTUNITY_ASSIGNED", card["id"]),
        ("OPPORTUNITY_ADDED", card["id"]),
    ]
    assert await told(api, manager) == [("OPPORTUNITY_ADDED", card["id"])]
    assert await told(api, b) == []
    assert await told(api, adder) == []


async def test_adding_a_customer_for_a_named_owner_tells_them_of_the_assignment(api):
    # given
    manager = await make_user(*SALES)
    seller = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller])
    # when
    card = await create(api, manager, campaign, owner="USER", ownerId=gid("User", seller))
    # then the manager, being the actor, hears of nothing
    assert await told(api, seller) == [
        ("OPPORTUNITY_ASSIGNED", card["id"]),
        ("OPPORTUNITY_ADDED", card["id"]),
    ]
    assert await told(api, manager) == []


# Becoming an owner


async def test_assign_opportunity_notifies_the_new_owner(api):
    # given
    manager = await make_user(*SALES)
    seller, other = await make_user(*SALES), await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller, other])
    card = await make_opportunity(campaign, await make_customer())
    # when
    await api.execute(
        ASSIGN_OPPORTUNITY,
        {"input": {"id": gid("Opportunity", card), "ownerId": gid("User", seller)}},
        viewer=manager,
    )
    # then
    [notification] = await inbox(api, seller)
    assert notification["kind"] == "OPPORTUNITY_ASSIGNED"
    assert notification["actor"] == {"id": gid("User", manager)}
    assert notification["opportunity"] == {"id": gid("Opportunity", card)}
    assert await inbox(api, manager) == []
    assert await inbox(api, other) == []


async def test_assign_opportunity_refused_notifies_nobody(api):
    # given
    manager = await make_user(*SALES)
    seller, outsider = await make_user(*SALES), await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller])
    card = await make_opportunity(campaign, await make_customer())
    # when the assignee is outside the campaign
    result = await api.execute(
        ASSIGN_OPPORTUNITY,
        {"input": {"id": gid("Opportunity", card), "ownerId": gid("User", outsider)}},
        viewer=manager,
    )
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert await Notification.all().count() == 0


async def test_claim_opportunity_does_not_notify_the_claimant_who_is_the_actor(api):
    # given
    manager = await make_user(*SALES)
    seller, other = await make_user(*SALES), await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller, other])
    card = await make_opportunity(campaign, await make_customer())
    # when
    result = await api.execute(CLAIM_OPPORTUNITY, {"id": gid("Opportunity", card)}, viewer=seller)
    # then
    assert result.ok()["claimOpportunity"]["owner"] == {"id": gid("User", seller)}
    assert await inbox(api, seller) == []
    assert await inbox(api, other) == []


async def test_handing_over_cards_notifies_each_new_owner(api):
    # given b owns two open cards
    manager = await make_user(*SALES)
    a, b, c = [await make_user(*SALES) for _ in range(3)]
    campaign = await make_campaign(manager, participants=[a, b, c], auto_assign=True)
    first = await make_opportunity(campaign, await make_customer(), owner=b)
    second = await make_opportunity(campaign, await make_customer(), owner=b)
    # when the manager removes b
    result = await api.execute(
        UPDATE_CAMPAIGN_PARTICIPANTS,
        {
            "input": {
                "id": gid("Campaign", campaign),
                "participantIds": [gid("User", a), gid("User", c)],
            }
        },
        viewer=manager,
    )
    # then
    result.ok()
    assert await told(api, a) == [("OPPORTUNITY_ASSIGNED", gid("Opportunity", first))]
    assert await told(api, c) == [("OPPORTUNITY_ASSIGNED", gid("Opportunity", second))]
    assert [n["actor"] for n in await inbox(api, a)] == [{"id": gid("User", manager)}]
    assert await told(api, b) == []


# Listing and marking read


async def test_notifications_unread_only_lists_only_unread_ones(api):
    # given
    user = await make_user(*SALES)
    card = await make_opportunity(await make_campaign(user), await make_customer())
    unread = await make_notification(user, card)
    await make_notification(user, card, read=True)
    # when
    only_unread = await inbox(api, user, unread_only=True)
    everything = await inbox(api, user)
    # then
    assert [node["id"] for node in only_unread] == [gid("Notification", unread)]
    assert len(everything) == 2


async def test_mark_notifications_read_marks_only_the_viewers_own_given_ids(api):
    # given
    viewer, other = await make_user(*SALES), await make_user(*SALES)
    card = await make_opportunity(await make_campaign(viewer), await make_customer())
    first, second, kept = [await make_notification(viewer, card) for _ in range(3)]
    theirs = await make_notification(other, card)
    ids = [gid("Notification", row) for row in (first, second, theirs)]
    # when
    result = await api.execute(MARK_NOTIFICATIONS_READ, {"ids": ids}, viewer=viewer)
    # then
    assert result.ok()["markNotificationsRead"] == 2
    unread = await inbox(api, viewer, unread_only=True)
    assert [node["id"] for node in unread] == [gid("Notification", kept)]
    assert (await Notification.get(id=theirs.pk)).read_at is None


async def test_mark_notifications_read_with_null_ids_marks_all_of_the_viewers(api):
    # given one already read, two unread, and someone else's
    viewer, other = await make_user(*SALES), await make_user(*SALES)
    card = await make_opportunity(await make_campaign(viewer), await make_customer())
    await make_notification(viewer, card, read=True)
    for _ in range(2):
        await make_notification(viewer, card)
    theirs = await make_notification(other, card)
    # when
    result = await api.execute(MARK_NOTIFICATIONS_READ, {"ids": None}, viewer=viewer)
    # then
    assert result.ok()["markNotificationsRead"] == 2
    assert await inbox(api, viewer, unread_only=True) == []
    assert all(node["readAt"] is not None for node in await inbox(api, viewer))
    assert (await Notification.get(id=theirs.pk)).read_at is None


async def test_mark_notifications_read_a_second_time_returns_zero(api):
    # given
    viewer = await make_user(*SALES)
    card = await make_opportunity(await make_campaign(viewer), await make_customer())
    notification = await make_notification(viewer, card)
    ids = [gid("Notification", notification)]
    await api.execute(MARK_NOTIFICATIONS_READ, {"ids": ids}, viewer=viewer)
    first_read_at = (await Notification.get(id=notification.pk)).read_at
    # when
    again = await api.execute(MARK_NOTIFICATIONS_READ, {"ids": ids}, viewer=viewer)
    all_again = await api.execute(MARK_NOTIFICATIONS_READ, viewer=viewer)
    # then
    assert again.ok()["markNotificationsRead"] == 0
    assert all_again.ok()["markNotificationsRead"] == 0
    assert (await Notification.get(id=notification.pk)).read_at == first_read_at


async def test_notifications_of_another_user_are_never_shown(api):
    # given
    viewer = await make_user(*SALES, Permission.VIEW_ALL)
    other = await make_user(*SALES)
    card = await make_opportunity(await make_campaign(other), await make_customer())
    mine = await make_notification(viewer, card)
    theirs = await make_notification(other, card)
    # when
    listed = await inbox(api, viewer)
    own_node = await api.execute(NODE, {"id": gid("Notification", mine)}, viewer=viewer)
    their_node = await api.execute(NODE, {"id": gid("Notification", theirs)}, viewer=viewer)
    # then
    assert [node["id"] for node in listed] == [gid("Notification", mine)]
    assert own_node.ok()["node"] == {"id": gid("Notification", mine), "kind": "OPPORTUNITY_ADDED"}
    assert their_node.data == {"node": None}
    assert their_node.error_at("node")["extensions"]["code"] == "NOT_FOUND"


async def test_notifications_is_unauthenticated_when_anonymous(api):
    # when
    listed = await api.execute(NOTIFICATIONS)
    marked = await api.execute(MARK_NOTIFICATIONS_READ)
    # then
    assert listed.codes == marked.codes == ["UNAUTHENTICATED"]


# Overdue registrations


async def waiting_card(api, manager, participants, wait_minutes: int = 30) -> dict:
    campaign = await make_campaign(
        manager, participants=participants, registration_wait_minutes=wait_minutes
    )
    return await create(api, manager, campaign, owner="NOBODY")


async def test_notify_overdue_registrations_tells_the_manager_once(api):
    # given an unowned card added by someone else than the manager
    manager = await make_user(*SALES)
    seller = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller], registration_wait_minutes=30)
    card = await create(api, seller, campaign, owner="NOBODY")
    later = datetime.now(UTC) + timedelta(minutes=31)
    # when
    first = await notify_overdue_registrations(later)
    second = await notify_overdue_registrations(later + timedelta(hours=1))
    # then
    assert (first, second) == (1, 0)
    overdue = [n for n in await inbox(api, manager) if n["kind"] == "REGISTRATION_OVERDUE"]
    assert [(n["opportunity"], n["actor"]) for n in overdue] == [({"id": card["id"]}, None)]
    assert all(n["kind"] != "REGISTRATION_OVERDUE" for n in await inbox(api, seller))


async def test_notify_overdue_registrations_waits_for_the_deadline(api):
    # given
    manager = await make_user(*SALES)
    await waiting_card(api, manager, [await make_user(*SALES)], wait_minutes=30)
    # when
    told_early = await notify_overdue_registrations(datetime.now(UTC) + timedelta(minutes=29))
    # then
    assert told_early == 0
    assert await told(api, manager) == []


async def test_notify_overdue_registrations_skips_a_card_that_was_claimed(api):
    # given two waiting cards, one claimed meanwhile
    manager = await make_user(*SALES)
    seller = await make_user(*SALES)
    campaign = await make_campaign(manager, participants=[seller], registration_wait_minutes=30)
    claimed = await create(api, manager, campaign, owner="NOBODY")
    waiting = await create(api, manager, campaign, owner="NOBODY")
    await api.execute(CLAIM_OPPORTUNITY, {"id": claimed["id"]}, viewer=seller)
    # when
    count = await notify_overdue_registrations(datetime.now(UTC) + timedelta(minutes=31))
    # then
    assert count == 1
    assert await told(api, manager) == [("REGISTRATION_OVERDUE", waiting["id"])]
