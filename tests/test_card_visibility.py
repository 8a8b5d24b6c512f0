"""Who may change, delete and read cards, and what a customer shows of them:
the change guards, the contact guard, Customer.opportunities and Customer.communications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from models import Communication, CommunicationKind, Opportunity, Permission, User
from tests.factories import (
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)

UPDATE_OPPORTUNITY = """
mutation UpdateOpportunity($input: UpdateOpportunityInput!) {
  updateOpportunity(input: $input) { id }
}
"""
MOVE_OPPORTUNITY = """
mutation MoveOpportunity($input: MoveOpportunityInput!) {
  moveOpportunity(input: $input) { id }
}
"""
MARK_WON = """
mutation MarkWon($input: MarkOpportunityWonInput!) {
  markOpportunityWon(input: $input) { id }
}
"""
MARK_LOST = """
mutation MarkLost($input: MarkOpportunityLostInput!) {
  markOpportunityLost(input: $input) { id }
}
"""
DELETE_OPPORTUNITY = """
mutation DeleteOpportunity($id: ID!) {
  deleteOpportunity(id: $id)
}
"""
OPPORTUNITY = """
query Opportunity($id: ID!) {
  opportunity(id: $id) { id name }
}
"""
CUSTOMER_CONTACT = """
query CustomerContact($id: ID!) {
  customer(id: $id) { id phone email }
}
"""
CUSTOMER_OPPORTUNITIES = """
query CustomerOpportunities($id: ID!) {
  customer(id: $id) { opportunities { totalCount edges { node { id } } } }
}
"""
CUSTOMER_COMMUNICATIONS = """
query CustomerCommunications($id: ID!) {
  customer(id: $id) { communications { totalCount edges { node { content } } } }
}
"""

CARD_PERMISSIONS = (
    Permission.OPPORTUNITY_ACCESS,
    Permission.OPPORTUNITY_EDIT,
    Permission.OPPORTUNITY_DELETE,
)
CARD_FIELDS = ("name", "probability", "stage_id", "rank", "result", "version")


@dataclass
class Board:
    stages: list
    card: Opportunity


@dataclass(frozen=True)
class Change:
    """One guarded mutation: the permission it needs and how to send it."""

    name: str
    permission: Permission
    document: str
    variables: Callable[[Board], dict]


def _input(board: Board, **values) -> dict:
    return {"input": {"id": gid("Opportunity", board.card), **values}}


CHANGES = [
    Change(
        "updateOpportunity",
        Permission.OPPORTUNITY_EDIT,
        UPDATE_OPPORTUNITY,
        lambda board: _input(board, name="Renamed", probability=90),
    ),
    Change(
        "moveOpportunity",
        Permission.OPPORTUNITY_EDIT,
        MOVE_OPPORTUNITY,
        lambda board: _input(board, stageId=gid("Stage", board.stages[1])),
    ),
    Change(
        "markOpportunityWon",
        Permission.OPPORTUNITY_EDIT,
        MARK_WON,
        lambda board: _input(board, orderAmount="10.00"),
    ),
    Change(
        "markOpportunityLost",
        Permission.OPPORTUNITY_EDIT,
        MARK_LOST,
        lambda board: _input(board, reason="No budget"),
    ),
    Change(
        "deleteOpportunity",
        Permission.OPPORTUNITY_DELETE,
        DELETE_OPPORTUNITY,
        lambda board: {"id": gid("Opportunity", board.card)},
    ),
]


async def board_for(role: str, permission: Permission) -> tuple[User, Board]:
    """A card of a campaign, and a viewer standing in `role` towards it.

    The roles allowed hold just what the change needs; those refused for who they are
    hold every card permission, so only their role can explain the refusal.
    """
    granted = (Permission.OPPORTUNITY_ACCESS, permission)
    manager = await make_user(*granted)
    owner = await make_user(*granted)
    participant = await make_user(*CARD_PERMISSIONS)
    viewer = {
        "owner": owner,
        "manager": manager,
        "view_all": await make_user(*granted, Permission.VIEW_ALL),
        "participant": participant,
        "owner_without_permission": await make_user(
            *(other for other in CARD_PERMISSIONS if other is not permission)
        ),
        "outsider": await make_user(*CARD_PERMISSIONS),
        "owner_without_access": await make_user(permission),
    }[role]
    if role.startswith("owner_"):
        owner = viewer
    campaign = await make_campaign(manager, participants=[owner, participant])
    card = await make_opportunity(campaign, await make_customer(), owner=owner)
    return viewer, Board(await stages_of(campaign), card)


async def snapshot(card: Opportunity) -> dict[str, object] | None:
    stored = await Opportunity.get_or_none(id=card.pk)
    return None if stored is None else {field: getattr(stored, field) for field in CARD_FIELDS}


# Changing and deleting a card


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.name)
@pytest.mark.parametrize("role", ["owner", "manager", "view_all"])
async def test_card_change_is_allowed_to_owner_manager_and_view_all(api, change, role):
    # given
    viewer, board = await board_for(role, change.permission)
    before = await snapshot(board.card)
    # when
    result = await api.execute(change.document, change.variables(board), viewer=viewer)
    # then
    assert result.ok()[change.name]
    assert await snapshot(board.card) != before


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.name)
@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("participant", "FORBIDDEN"),
        ("owner_without_permission", "FORBIDDEN"),
        ("outsider", "NOT_FOUND"),
        ("owner_without_access", "NOT_FOUND"),
    ],
)
async def test_card_change_is_refused_to_anyone_else_and_changes_nothing(api, change, role, code):
    # given
    viewer, board = await board_for(role, change.permission)
    before = await snapshot(board.card)
    # when
    result = await api.execute(change.document, change.variables(board), viewer=viewer)
    # then
    assert result.codes == [code]
    assert result.data is None
    assert await snapshot(board.card) == before


async def test_card_change_is_not_found_for_an_unknown_card(api):
    # given
    viewer, board = await board_for("manager", Permission.OPPORTUNITY_EDIT)
    await Opportunity.filter(id=board.card.pk).delete()
    # when
    result = await api.execute(UPDATE_OPPORTUNITY, _input(board, name="Renamed"), viewer=viewer)
    # then
    assert result.codes == ["NOT_FOUND"]


# Reading a card


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("owner", True),
        ("manager", True),
        ("participant", True),
        ("view_all", True),
        ("outsider", False),
        ("owner_without_access", False),
    ],
)
async def test_opportunity_is_visible_only_to_members_and_view_all_with_access(api, role, visible):
    # given
    viewer, board = await board_for(role, Permission.OPPORTUNITY_EDIT)
    # when
    result = await api.execute(OPPORTUNITY, {"id": gid("Opportunity", board.card)}, viewer=viewer)
    # then
    if visible:
        assert result.ok()["opportunity"]["id"] == gid("Opportunity", board.card)
    else:
        assert result.data == {"opportunity": None}
        assert result.error_at("opportunity")["extensions"]["code"] == "NOT_FOUND"


# Customer contact details


async def contact_viewer(role: str):
    """A customer with one card, and a viewer standing in `role` towards it."""
    customer_owner = await make_user()
    card_owner = await make_user()
    manager = await make_user()
    participant = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_EDIT)
    customer = await make_customer(owner=customer_owner)
    campaign = await make_campaign(manager, participants=[card_owner, participant])
    await make_opportunity(campaign, customer, owner=card_owner)
    viewer = {
        "customer_owner": customer_owner,
        "card_owner": card_owner,
        "manager": manager,
        "view_all": await make_user(Permission.VIEW_ALL),
        "participant": participant,
        "stranger": await make_user(Permission.OPPORTUNITY_ACCESS, Permission.USER_ADMIN),
    }[role]
    return viewer, customer


@pytest.mark.parametrize("role", ["customer_owner", "card_owner", "manager", "view_all"])
async def test_customer_contact_is_visible_to_its_owners_managers_and_view_all(api, role):
    # given
    viewer, customer = await contact_viewer(role)
    # when
    result = await api.execute(CUSTOMER_CONTACT, {"id": gid("Customer", customer)}, viewer=viewer)
    # then
    assert result.ok()["customer"] == {
        "id": gid("Customer", customer),
        "phone": customer.phone,
        "email": customer.email,
    }


@pytest.mark.parametrize("role", ["participant", "stranger"])
async def test_customer_contact_is_null_and_forbidden_to_anyone_else(api, role):
    # given
    viewer, customer = await contact_viewer(role)
    # when
    result = await api.execute(CUSTOMER_CONTACT, {"id": gid("Customer", customer)}, viewer=viewer)
    # then
    assert result.data == {
        "customer": {"id": gid("Customer", customer), "phone": None, "email": None}
    }
    assert result.error_at("customer", "phone")["extensions"]["code"] == "FORBIDDEN"
    assert result.error_at("customer", "email")["extensions"]["code"] == "FORBIDDEN"
    assert len(result.errors) == 2


# Customer.opportunities and Customer.communications


async def customer_in_two_campaigns():
    """A customer with a card in a campaign the seller takes part in and one in another."""
    seller = await make_user(Permission.OPPORTUNITY_ACCESS)
    customer = await make_customer()
    mine = await make_campaign(await make_user(), participants=[seller])
    theirs = await make_campaign(await make_user(), participants=[await make_user()])
    visible = await make_opportunity(mine, customer)
    hidden = await make_opportunity(theirs, customer)
    return seller, customer, visible, hidden


async def customer_card_ids(api, viewer, customer) -> list[str]:
    result = await api.execute(
        CUSTOMER_OPPORTUNITIES, {"id": gid("Customer", customer)}, viewer=viewer
    )
    opportunities = result.ok()["customer"]["opportunities"]
    assert opportunities["totalCount"] == len(opportunities["edges"])
    return [edge["node"]["id"] for edge in opportunities["edges"]]


async def test_customer_opportunities_lists_only_the_cards_the_viewer_may_see(api):
    # given
    seller, customer, visible, _hidden = await customer_in_two_campaigns()
    # when
    shown = await customer_card_ids(api, seller, customer)
    # then
    assert shown == [gid("Opportunity", visible)]


async def test_customer_opportunities_lists_every_card_with_view_all(api):
    # given
    _seller, customer, visible, hidden = await customer_in_two_campaigns()
    auditor = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.VIEW_ALL)
    # when
    shown = await customer_card_ids(api, auditor, customer)
    # then
    assert shown == [gid("Opportunity", visible), gid("Opportunity", hidden)]


async def test_customer_opportunities_is_empty_without_opportunity_access(api):
    # given a manager of both campaigns who lacks the opportunity function
    manager = await make_user(Permission.VIEW_ALL)
    customer = await make_customer(owner=manager)
    await make_opportunity(await make_campaign(manager), customer, owner=manager)
    # when
    shown = await customer_card_ids(api, manager, customer)
    # then
    assert shown == []


def contents(result) -> list[str]:
    page = result.ok()["customer"]["communications"]
    assert page["totalCount"] == len(page["edges"])
    return sorted(edge["node"]["content"] for edge in page["edges"])


async def test_customer_communications_lists_only_those_of_visible_cards(api):
    # given a communication on each of the customer's two cards
    seller, customer, visible, hidden = await customer_in_two_campaigns()
    for card, content in ((visible, "on my card"), (hidden, "on their card")):
        await Communication.create(
            kind=CommunicationKind.NOTE,
            content=content,
            occurred_at=card.created_at,
            customer_id=customer.pk,
            opportunity_id=card.pk,
        )
    auditor = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.VIEW_ALL)
    outsider = await make_user(Permission.OPPORTUNITY_ACCESS)
    variables = {"id": gid("Customer", customer)}
    # when
    as_seller = await api.execute(CUSTOMER_COMMUNICATIONS, variables, viewer=seller)
    as_auditor = await api.execute(CUSTOMER_COMMUNICATIONS, variables, viewer=auditor)
    as_outsider = await api.execute(CUSTOMER_COMMUNICATIONS, variables, viewer=outsider)
    # then
    assert contents(as_seller) == ["on my card"]
    assert contents(as_auditor) == ["on my card", "on their card"]
    assert contents(as_outsider) == []
