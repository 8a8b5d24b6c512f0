"""Hostile operations against a production-mode app: each is refused cheaply with a
message that names the limit, and nothing about the schema leaks."""

from __future__ import annotations

import time

import httpx
import pytest

from server.app import create_app
from server.settings import Environment, Limits
from tests.conftest import make_settings
from tests.factories import gid, make_campaign, make_user
from tests.graphql import GraphQLClient

LIMITS = Limits(
    max_query_tokens=500,
    max_query_depth=7,
    max_query_aliases=5,
    max_query_fields=100,
    max_query_cost=1_000,
    operations_per_second=100_000,
)


@pytest.fixture
def settings(database_url):
    return make_settings(database_url, environment=Environment.PRODUCTION, limits=LIMITS)


def refusal(result) -> str:
    assert result.data is None, result.data
    assert result.codes, "no error"
    assert set(result.codes) == {"GRAPHQL_VALIDATION_FAILED"}, result.errors
    return str(result.errors[0]["message"])


DEEP = """{ customers(first: 1) { edges { node { opportunities(first: 1) { edges { node {
  customer { opportunities(first: 1) { edges { node { id } } } } } } } } } } }"""


async def test_a_query_deeper_than_the_limit_is_refused(api):
    viewer = await make_user()
    shallow = "{ customers(first: 1) { edges { node { owner { id } } } } }"

    refused = await api.execute(DEEP, viewer=viewer)
    allowed = await api.execute(shallow, viewer=viewer)

    assert refusal(refused).endswith("exceeds maximum operation depth of 7 (MAX_QUERY_DEPTH)")
    assert allowed.ok()["customers"]["edges"] == []


async def test_depth_hidden_in_fragments_counts_too(api):
    viewer = await make_user()
    query = """
    { customers(first: 1) { edges { node { ...A } } } }
    fragment A on Customer { opportunities(first: 1) { edges { node { ...B } } } }
    fragment B on Opportunity { customer { opportunities(first: 1) { edges { node { id } } } } }
    """
    assert "maximum operation depth of 7" in refusal(await api.execute(query, viewer=viewer))


async def test_an_alias_flood_is_refused(api):
    viewer = await make_user()
    query = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(6)) + " }"
    message = refusal(await api.execute(query, viewer=viewer))
    assert message == "6 aliases found. Allowed: 5 (MAX_QUERY_ALIASES)"


async def test_aliases_hidden_in_a_fragment_count_once_per_spread(api):
    viewer = await make_user()
    query = """
    { me { ...Names } again: me { ...Names } }
    fragment Names on User { a: name b: name }
    """
    # 1 alias in the operation + 2 per spread of Names, spread twice: 5 is the limit
    assert (await api.execute(query, viewer=viewer)).ok()["again"]["a"]
    three = query.replace("again: me { ...Names }", "again: me { ...Names } more: me { ...Names }")
    assert "aliases found. Allowed: 5" in refusal(await api.execute(three, viewer=viewer))


async def test_a_field_flood_without_aliases_is_refused(api):
    viewer = await make_user()
    query = "{ me { " + " ".join(["id"] * 101) + " } }"
    message = refusal(await api.execute(query, viewer=viewer))
    assert "at most 100 are allowed (MAX_QUERY_FIELDS)" in message


async def test_a_fragment_bomb_is_refused_at_once(api):
    viewer = await make_user()
    # Each fragment spreads the previous one twice: 2**30 fields once expanded.
    fragments = ["fragment F0 on User { id name }"]
    fragments += [f"fragment F{i} on User {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 31)]
    query = "{ me { ...F30 } } " + " ".join(fragments)
    started = time.perf_counter()
    result = await api.execute(query, viewer=viewer)
    elapsed = time.perf_counter() - started

    assert "MAX_QUERY_FIELDS" in refusal(result)
    assert elapsed < 2, f"took {elapsed:.1f}s to refuse"


async def test_a_circular_fragment_bomb_is_refused_at_once(api):
    """Fragments that spread each other in a ring, doubling at each step: the limiters
    that walk every path would take exponential time, so the cycle is refused first."""
    viewer = await make_user()
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40)]
    query = "{ ...F0 } " + " ".join(fragments) + " fragment F40 on Query { ...F0 }"
    started = time.perf_counter()
    result = await api.execute(query, viewer=viewer)
    elapsed = time.perf_counter() - started

    assert "Cannot spread fragment 'F0' within itself" in refusal(result)
    assert elapsed < 2, f"took {elapsed:.1f}s to refuse"


async def test_an_unknown_fragment_fails_validation(api):
    viewer = await make_user()
    assert refusal(await api.execute("{ me { ...Nope } }", viewer=viewer)) == (
        "Unknown fragment 'Nope'."
    )


async def test_circular_fragments_are_refused(api):
    viewer = await make_user()
    query = """
    { me { ...A } }
    fragment A on User { id ...B }
    fragment B on User { name ...A }
    """
    assert "Cannot spread fragment 'A' within itself" in refusal(
        await api.execute(query, viewer=viewer)
    )


async def test_a_directive_flood_is_refused_by_the_token_limit(api):
    viewer = await make_user()
    query = "{ me " + "@include(if: true) " * 200 + "{ id } }"
    message = refusal(await api.execute(query, viewer=viewer))
    assert message == "the operation has more than 500 tokens (MAX_QUERY_TOKENS)"


async def test_repeated_directives_under_the_token_limit_fail_validation(api):
    viewer = await make_user()
    query = "{ me " + "@include(if: true) " * 20 + "{ id } }"
    message = refusal(await api.execute(query, viewer=viewer))
    assert "can only be used once at this location" in message


async def test_nested_connections_cost_their_page_sizes_multiplied(api):
    viewer = await make_user()
    query = """
    query Nested($outer: Int, $inner: Int) {
      customers(first: $outer) { edges { node {
        opportunities(first: $inner) { edges { node { id } } } } } }
    }
    """
    # 40 customers (1 each) + 40 x 40 opportunities = 1,640 > 1,000
    refused = await api.execute(query, {"outer": 40, "inner": 40}, viewer=viewer)
    # 20 + 20 x 20 = 420
    allowed = await api.execute(query, {"outer": 20, "inner": 20}, viewer=viewer)

    message = refusal(refused)
    assert "may cost 1640" in message and "MAX_QUERY_COST" in message
    assert allowed.ok()["customers"]["edges"] == []


async def test_a_page_size_from_a_variable_default_is_counted(api):
    viewer = await make_user()
    query = """
    query Nested($size: Int = 40) {
      customers(first: $size) { edges { node {
        opportunities(first: $size) { edges { node { id } } } } } }
    }
    """
    assert "may cost 1640" in refusal(await api.execute(query, viewer=viewer))


async def test_a_connection_without_a_size_costs_the_default_page(api):
    viewer = await make_user()
    query = """
    { customers { edges { node { opportunities { edges { node { id } } } } } } }
    """
    # 50 + 50 x 50 = 2,550
    assert "may cost 2550" in refusal(await api.execute(query, viewer=viewer))


async def test_the_kanban_board_fits_the_default_limits(app, database_url):
    """The query a board client sends (every column, 50 cards each) is not refused by
    the production defaults."""
    viewer = await make_user()
    campaign = await make_campaign(manager=viewer)
    board = """
    query Board($id: ID!) {
      campaign(id: $id) {
        name lastEventCursor participants { name } manager { name }
        stages { id name probability totalAmount opportunityCount
          opportunities(first: 50) {
            totalCount pageInfo { hasNextPage endCursor }
            edges { cursor node { id name probability amount rank version result
              owner { id name } customer { id name phone email } } }
          }
        }
      }
    }
    """
    defaults = make_settings(database_url, environment=Environment.PRODUCTION)
    production = create_app(defaults)
    async with production.router.lifespan_context(production):
        transport = httpx.ASGITransport(app=production)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            client = GraphQLClient(http, defaults)
            result = await client.execute(board, {"id": gid("Campaign", campaign)}, viewer=viewer)
    assert result.ok()["campaign"]["name"] == campaign.name


async def test_introspection_is_off_in_production(api):
    viewer = await make_user()
    result = await api.execute("{ __schema { types { name } } }", viewer=viewer)
    typename = await api.execute("{ __typename me { __typename } }", viewer=viewer)

    assert "introspection" in refusal(result).lower()
    assert typename.ok() == {"__typename": "Query", "me": {"__typename": "User"}}


async def test_introspection_stays_on_in_development(database_url):
    development = create_app(make_settings(database_url))
    async with development.router.lifespan_context(development):
        transport = httpx.ASGITransport(app=development)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.post(
                "/graphql", json={"query": "{ __schema { queryType { name } } }"}
            )
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize(
    "query",
    [
        "{ me { nme } }",
        "{ campaigns(frist: 2) { totalCount } }",
        'mutation { createUser(input: {nme: "x", email: "a@b.cd", password: "p"}) { id } }',
        "{ users(first: 1) { edgs { node { id } } } }",
        "{ me { ... on Usr { id } } }",
    ],
)
async def test_error_messages_suggest_no_field_names_in_production(api, query):
    viewer = await make_user()
    result = await api.execute(query, viewer=viewer)
    assert result.errors
    for error in result.errors:
        assert "Did you mean" not in error["message"], error


async def test_enum_values_are_not_suggested_in_production(api):
    viewer = await make_user()
    mutation = "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }"
    result = await api.execute(
        mutation,
        {"input": {"name": "x", "email": "a@b.cd", "password": "p" * 10, "permissions": ["VIEW"]}},
        viewer=viewer,
    )
    assert result.codes == ["BAD_USER_INPUT"]
    assert "Did you mean" not in result.errors[0]["message"]
