"""Relay plumbing: connections and cursors, node(id), and how errors reach the client."""

from __future__ import annotations

import logging

import pytest

import resolvers.customers
from resolvers.ids import encode_id
from resolvers.pagination import encode_cursor
from tests.factories import gid, make_campaign, make_customer, make_user, stages_of

USERS_PAGE = """
query Users($first: Int, $after: String, $last: Int, $before: String) {
  users(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
CUSTOMERS_PAGE = """
query Customers($first: Int) {
  customers(first: $first) { totalCount edges { node { id } } }
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on User { name }
    ... on Customer { name }
    ... on Campaign { name code }
    ... on Stage { name position }
  }
}
"""
CUSTOMERS_ONLY = "{ customers { totalCount } }"
UNKNOWN_FIELD = "{ me { id shoeSize } }"


async def make_users(count: int) -> list:
    return [await make_user() for _ in range(count)]


def node_ids(connection: dict) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


# Page sizes


async def test_connection_returns_50_items_when_no_size_is_given(api):
    # given the viewer and 59 more users
    users = await make_users(60)
    # when
    result = await api.execute(USERS_PAGE, viewer=users[0])
    # then
    page = result.ok()["users"]
    assert node_ids(page) == [gid("User", user) for user in users[:50]]
    assert page["totalCount"] == 60
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is False


async def test_connection_accepts_first_up_to_200(api):
    # given
    users = await make_users(3)
    # when
    result = await api.execute(USERS_PAGE, {"first": 200}, viewer=users[0])
    # then
    page = result.ok()["users"]
    assert node_ids(page) == [gid("User", user) for user in users]
    assert page["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("size", [{"first": 201}, {"first": -1}, {"last": 201}, {"last": -1}])
async def test_connection_refuses_a_page_size_out_of_range(api, size):
    # given
    viewer = await make_user()
    # when
    result = await api.execute(USERS_PAGE, size, viewer=viewer)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.data is None
    assert next(iter(size)) in result.errors[0]["message"]


async def test_connection_with_first_zero_returns_no_items_but_the_total(api):
    # given
    users = await make_users(3)
    # when
    result = await api.execute(USERS_PAGE, {"first": 0}, viewer=users[0])
    # then
    page = result.ok()["users"]
    assert page["edges"] == []
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["endCursor"] is None


# Paging


async def test_paging_forward_with_first_and_after_visits_every_item_once_in_order(api):
    # given
    users = await make_users(23)
    seen: list[str] = []
    pages: list[dict] = []
    after = None
    # when
    while True:
        result = await api.execute(USERS_PAGE, {"first": 5, "after": after}, viewer=users[0])
        page = result.ok()["users"]
        pages.append(page)
        seen += node_ids(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then
    assert seen == [gid("User", user) for user in users]
    assert [len(page["edges"]) for page in pages] == [5, 5, 5, 5, 3]
    assert all(page["totalCount"] == 23 for page in pages)
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [
        False,
        True,
        True,
        True,
        True,
    ]


async def test_page_info_cursors_are_those_of_the_first_and_last_edges(api):
    # given
    users = await make_users(4)
    # when
    result = await api.execute(USERS_PAGE, {"first": 3}, viewer=users[0])
    # then
    page = result.ok()["users"]
    assert page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": page["edges"][0]["cursor"],
        "endCursor": page["edges"][-1]["cursor"],
    }


async def test_page_info_has_no_next_page_when_the_page_ends_exactly_at_the_list_end(api):
    # given
    users = await make_users(4)
    # when
    result = await api.execute(USERS_PAGE, {"first": 4}, viewer=users[0])
    # then
    assert result.ok()["users"]["pageInfo"]["hasNextPage"] is False


async def test_paging_backward_with_last_and_before_visits_every_item_once_in_order(api):
    # given
    users = await make_users(12)
    seen: list[str] = []
    before = None
    # when
    while True:
        result = await api.execute(USERS_PAGE, {"last": 5, "before": before}, viewer=users[0])
        page = result.ok()["users"]
        seen = node_ids(page) + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    # then
    assert seen == [gid("User", user) for user in users]


async def test_last_returns_the_final_items_of_the_list(api):
    # given
    users = await make_users(6)
    # when
    result = await api.execute(USERS_PAGE, {"last": 2}, viewer=users[0])
    # then
    page = result.ok()["users"]
    assert node_ids(page) == [gid("User", user) for user in users[4:]]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["totalCount"] == 6


async def test_before_returns_the_items_ahead_of_the_cursor(api):
    # given
    users = await make_users(6)
    all_edges = (await api.execute(USERS_PAGE, viewer=users[0])).ok()["users"]["edges"]
    # when
    result = await api.execute(
        USERS_PAGE, {"last": 2, "before": all_edges[4]["cursor"]}, viewer=users[0]
    )
    # then
    page = result.ok()["users"]
    assert node_ids(page) == [gid("User", user) for user in users[2:4]]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert page["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        "ünïcode",
        encode_cursor([]),
        encode_cursor(["User:1"]),
        encode_cursor([1.5]),
        "eyJhIjoxfQ==",  # base64 of a JSON object
        encode_cursor([2**70]),
        encode_cursor([True]),
    ],
)
@pytest.mark.parametrize("argument", ["after", "before"])
async def test_connection_refuses_a_garbage_cursor(api, cursor, argument):
    # given
    viewer = await make_user()
    # when
    result = await api.execute(USERS_PAGE, {argument: cursor}, viewer=viewer)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert argument in result.errors[0]["message"]
    assert result.data is None


# node(id)


async def test_node_returns_the_typed_object_for_each_kind_of_id(api):
    # given
    manager = await make_user(name="Lan")
    customer = await make_customer(name="Acme Ltd")
    campaign = await make_campaign(manager, stages=["New", "Won"])
    _, won = await stages_of(campaign)
    expected = {
        gid("User", manager): {"__typename": "User", "name": "Lan"},
        gid("Customer", customer): {"__typename": "Customer", "name": "Acme Ltd"},
        gid("Campaign", campaign): {
            "__typename": "Campaign",
            "name": campaign.name,
            "code": campaign.code,
        },
        gid("Stage", won): {"__typename": "Stage", "name": "Won", "position": 1},
    }
    for global_id, fields in expected.items():
        # when
        result = await api.execute(NODE, {"id": global_id}, viewer=manager)
        # then
        assert result.ok()["node"] == {"id": global_id, **fields}


@pytest.mark.parametrize(
    "global_id",
    [
        "",
        "not-an-id",
        encode_id("User", 999_999),
        encode_id("Customer", 999_999),
        encode_id("Campaign", 999_999),
        encode_id("Stage", 999_999),
        encode_id("Spaceship", 1),
        encode_id("User", 0),
        encode_id("User", -1),
        encode_id("User", 2**40),
    ],
)
async def test_node_is_not_found_for_a_malformed_or_unknown_id(api, global_id):
    # given
    viewer = await make_user()
    # when
    result = await api.execute(NODE, {"id": global_id}, viewer=viewer)
    # then
    assert result.data == {"node": None}
    assert result.error_at("node")["extensions"]["code"] == "NOT_FOUND"


async def test_node_hides_a_stage_of_a_campaign_the_viewer_may_not_see(api):
    # given
    outsider = await make_user()
    campaign = await make_campaign(await make_user())
    stage, *_ = await stages_of(campaign)
    # when
    result = await api.execute(NODE, {"id": gid("Stage", stage)}, viewer=outsider)
    # then
    assert result.data == {"node": None}
    assert result.error_at("node")["extensions"]["code"] == "NOT_FOUND"


async def test_node_is_unauthenticated_when_anonymous(api):
    # given
    user = await make_user()
    # when
    result = await api.execute(NODE, {"id": gid("User", user)})
    # then
    assert result.data == {"node": None}
    assert result.error_at("node")["extensions"]["code"] == "UNAUTHENTICATED"


# Errors


async def test_unexpected_exception_is_masked_for_the_client_and_logged(api, monkeypatch, caplog):
    # given a resolver that fails with an internal detail
    viewer = await make_user()
    await make_customer()

    async def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(resolvers.customers, "list_customers", broken)
    caplog.set_level(logging.ERROR, logger="funnelgraph.errors")
    # when
    result = await api.execute(CUSTOMERS_ONLY, viewer=viewer)
    # then the client sees only a generic error at that field
    error = result.error_at("customers")
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret detail" not in str(result.errors)
    assert "RuntimeError" not in str(result.errors)
    assert len(result.errors) == 1
    # and the server log holds the traceback
    logged = [record for record in caplog.records if record.name == "funnelgraph.errors"]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], RuntimeError)
    assert "secret detail" in caplog.text
    assert "Traceback" in caplog.text


async def test_expected_errors_are_not_logged_as_incidents(api, caplog):
    # given
    caplog.set_level(logging.ERROR, logger="funnelgraph.errors")
    # when
    result = await api.execute(CUSTOMERS_ONLY)
    # then
    assert result.codes == ["UNAUTHENTICATED"]
    assert [record for record in caplog.records if record.name == "funnelgraph.errors"] == []


async def test_unknown_field_fails_validation(api):
    # given
    viewer = await make_user()
    # when
    result = await api.execute(UNKNOWN_FIELD, viewer=viewer)
    # then
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "shoeSize" in result.errors[0]["message"]
    assert result.data is None


async def test_customers_page_size_is_checked_like_every_connection(api):
    # given
    viewer = await make_user()
    # when
    result = await api.execute(CUSTOMERS_PAGE, {"first": 201}, viewer=viewer)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
