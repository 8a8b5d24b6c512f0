"""Input limits on every string and list the API accepts, characters no database
stores, and forged IDs.

The positions are read off the served schema, so an argument added later is covered
(and must have a limit) without touching this file.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_composite_type,
)
from tortoise import Tortoise

from models import Customer, Permission
from schema.schema import build_schema
from server.settings import Environment
from tests.conftest import make_settings
from tests.factories import make_user
from tests.graphql import answered_errors

SCHEMA = build_schema()._schema
SCALAR_TEXT = frozenset({"String", "ID", "Decimal", "DateTime"})


@pytest.fixture
def settings(database_url):
    return make_settings(database_url, environment=Environment.PRODUCTION)


@dataclass(frozen=True)
class Position:
    """One value an operation can send: where, and the probe's value for it."""

    path: str
    document: str
    variables: dict[str, Any]


# A probe gives the value to send where an input of this (nullable) type goes, or None
# to leave the position out.
Probe = Callable[[GraphQLInputType], Any]


def positions(probe: Probe) -> Iterator[Position]:
    """Every argument of every field of every type, Query to Subscription, at every depth:
    each probed through a fragment on its type, which the input check reads before
    validation runs."""
    for type_name, type_ in sorted(SCHEMA.type_map.items()):
        if type_name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for name, field in type_.fields.items():
            for argument_name, argument in field.args.items():
                for path, value in _probed(argument_name, argument.type, probe):
                    yield Position(
                        f"{type_name}.{name}({path})",
                        _document(type_name, name, field, argument_name, argument.type),
                        {"value": value},
                    )


def _probed(
    name: str, type_: GraphQLInputType, probe: Probe, path: str = ""
) -> Iterator[tuple[str, Any]]:
    """(argument path, the argument's value carrying the probe there) for every position."""
    path = path or name
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    value = probe(type_)
    if value is not None:
        yield path, value
    if isinstance(type_, GraphQLList):
        for item_path, item in _probed(name, type_.of_type, probe, f"{path}[0]"):
            yield item_path, [item]
    elif isinstance(type_, GraphQLInputObjectType):
        for field_name, field in type_.fields.items():
            for field_path, item in _probed(field_name, field.type, probe, f"{path}.{field_name}"):
                yield field_path, {field_name: item}


def _overflow(type_: GraphQLInputType) -> Any:
    """A list or string one over any limit."""
    if isinstance(type_, GraphQLList):
        item = get_named_type(type_)
        filler = "x" if item.name in SCALAR_TEXT else next(iter(getattr(item, "values", {"x": 0})))
        return [filler] * 1_001
    if isinstance(type_, GraphQLScalarType) and type_.name in SCALAR_TEXT:
        return "x" * 20_001
    return None


def _text(text: str) -> Probe:
    """The text wherever a string goes (enum names are not strings)."""
    return lambda type_: text if type_ in TEXT_TYPES else None


def _document(
    type_name: str, name: str, field: GraphQLField, argument: str, type_: GraphQLInputType
) -> str:
    selection = " { __typename }" if is_composite_type(get_named_type(field.type)) else ""
    return (
        f"query Probe($value: {type_}) {{ __typename }} "
        f"fragment Position on {type_name} {{ {name}({argument}: $value){selection} }}"
    )


TEXT_TYPES = [SCHEMA.type_map[name] for name in sorted(SCALAR_TEXT)]
ALL = list(positions(_overflow))
# Each text, and the words its refusal names the character with.
UNSTORABLE = {"a\x00b": "NUL character (U+0000)", "a\ud800b": "unpaired surrogate (U+D800)"}
# Per string position, the same position probed with each text.
TEXTS = list(zip(*(positions(_text(text)) for text in UNSTORABLE), strict=True))


def test_the_probe_reaches_every_input_position():
    paths = {position.path for position in ALL}
    assert "Mutation.postChatMessage(input.body)" in paths
    assert "Mutation.createCampaign(input.stages)" in paths
    assert "Mutation.createCampaign(input.stages[0])" in paths
    assert "Mutation.markNotificationsRead(ids)" in paths
    assert "Mutation.login(password)" in paths
    assert "Query.campaigns(search)" in paths
    assert "Campaign.opportunities(stageId)" in paths
    assert "Campaign.chatMessages(before)" in paths
    assert "Subscription.campaignEvents(after)" in paths
    assert len(paths) > 100


@pytest.mark.parametrize("position", ALL, ids=[position.path for position in ALL])
async def test_every_string_and_list_input_has_a_limit(api, position):
    viewer = await make_user(*Permission)
    result = await api.execute(position.document, position.variables, viewer=viewer)

    assert result.codes == ["BAD_USER_INPUT"], result.errors
    error = result.errors[0]
    field = position.path.split("(", 1)[1].rstrip(")")
    assert error["extensions"]["field"] == field
    assert f"at most {error['extensions']['limit']}" in error["message"]
    assert field in error["message"]


def test_the_probe_reaches_every_string_position():
    paths = {probes[0].path for probes in TEXTS}
    assert "Mutation.postChatMessage(input.body)" in paths
    assert "Mutation.createCampaign(input.stages[0])" in paths
    assert "Mutation.createTask(input.dueAt)" in paths
    assert "Mutation.updateOpportunity(input.amount)" in paths
    assert "Query.users(search)" in paths
    assert "Subscription.campaignChat(after)" in paths
    assert len(paths) > 90


async def _row_counts() -> dict[str, int]:
    return {name: await model.all().count() for name, model in Tortoise.apps["models"].items()}


@pytest.mark.parametrize("probes", TEXTS, ids=[probes[0].path for probes in TEXTS])
async def test_every_string_input_refuses_what_no_database_stores(api, probes):
    viewer = await make_user(*Permission)
    before = await _row_counts()

    for position, character in zip(probes, UNSTORABLE.values(), strict=True):
        result = await api.execute(position.document, position.variables, viewer=viewer)

        assert result.codes == ["BAD_USER_INPUT"], result.errors
        error = result.errors[0]
        field = position.path.split("(", 1)[1].rstrip(")")
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
        assert error["message"].startswith(f"{field} contains a")
        assert character in error["message"]
    assert await _row_counts() == before


async def test_a_variable_default_is_checked_whichever_operation_runs(api):
    viewer = await make_user(*Permission)
    document = (
        'query A($s: String = "' + "s" * 5000 + '") { customers(search: $s) { totalCount } }'
        ' query B($s: String = "short") { me { id } }'
    )
    response = await api.http.post(
        "/graphql",
        json={"query": document, "operationName": "A"},
        headers={"Authorization": f"Bearer {api.token_for(viewer)}"},
    )
    [error] = answered_errors(response, response.json())
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "search", "limit": 200}


@pytest.mark.parametrize(
    ("document", "variables", "field", "limit"),
    [
        (
            'mutation($b: String!) { postChatMessage(input: {campaignId: "x", body: $b}) { id } }',
            {"b": "y" * 4001},
            "input.body",
            4000,
        ),
        (
            'mutation { markOpportunityLost(input: {id: "x", reason: "'
            + "r" * 4001
            + '"}) { id } }',
            {},
            "input.reason",
            4000,
        ),
        (
            'mutation($s: [String!]!) { createCampaign(input: {name: "c", stages: $s}) { id } }',
            {"s": ["step"] * 51},
            "input.stages",
            50,
        ),
        (
            "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }",
            {"ids": ["x"] * 501},
            "ids",
            500,
        ),
        (
            "mutation($n: String!) { createCustomer(input: {name: $n}) { id } }",
            {"n": "n" * 201},
            "input.name",
            200,
        ),
        (
            "query($a: String) { campaigns { edges { node { opportunities(after: $a) "
            "{ totalCount } } } } }",
            {"a": "c" * 1001},
            "after",
            1000,
        ),
    ],
)
async def test_limits_name_the_field_and_the_limit(api, document, variables, field, limit):
    viewer = await make_user(*Permission)
    result = await api.execute(document, variables, viewer=viewer)

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": field,
        "limit": limit,
    }
    assert await Customer.all().count() == 0


async def test_a_value_at_its_limit_is_accepted(api):
    viewer = await make_user(*Permission)
    result = await api.execute(
        "mutation($n: String!) { createCustomer(input: {name: $n}) { name } }",
        {"n": "n" * 200},
        viewer=viewer,
    )
    assert result.ok()["createCustomer"]["name"] == "n" * 200


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


FORGED_IDS = [
    "garbage",
    "",
    "☃",
    "%%%%",
    _b64("Campaign:-1"),
    _b64("Campaign:0"),
    _b64("Campaign:99999999999999999999"),
    _b64("Campaign:1e3"),
    _b64("Nope:1"),
    _b64(":1"),
    _b64("Customer:1"),  # a real type, of another kind, that no row has
    _b64("Campaign:1:2"),
    "x" * 100,
]


@pytest.mark.parametrize("forged", FORGED_IDS)
@pytest.mark.parametrize(
    "document",
    [
        "query($id: ID!) { node(id: $id) { id } }",
        "query($id: ID!) { campaign(id: $id) { id } }",
        "query($id: ID!) { opportunity(id: $id) { id } }",
        "query($id: ID!) { customer(id: $id) { id } }",
        "mutation($id: ID!) { claimOpportunity(id: $id) { id } }",
        "mutation($id: ID!) { reopenOpportunity(id: $id) { id } }",
        "mutation($id: ID!) { deleteOpportunity(id: $id) }",
        "mutation($id: ID!) { completeTask(id: $id) { id } }",
        'mutation($id: ID!) { updateCampaign(input: {id: $id, name: "n"}) { id } }',
        'mutation($id: ID!) { postChatMessage(input: {campaignId: $id, body: "hi"}) { id } }',
        "mutation($id: ID!) { markNotificationsRead(ids: [$id]) }",
        'mutation($id: ID!) { addStage(input: {campaignId: $id, name: "s"}) { id } }',
        "mutation($id: ID!) { removeStage(input: {id: $id}) { id } }",
        "mutation($id: ID!) { moveOpportunity(input: {id: $id, stageId: $id}) { id } }",
        "mutation($id: ID!) { createOpportunity(input: {campaignId: $id, customerId: $id}) "
        "{ id } }",
        "mutation($id: ID!) { logCommunication(input: {opportunityId: $id, kind: CALL, "
        'content: "c"}) { id } }',
    ],
)
async def test_a_forged_id_answers_not_found(api, document, forged):
    viewer = await make_user(*Permission)
    result = await api.execute(document, {"id": forged}, viewer=viewer)

    if "markNotificationsRead" in document:
        # Marking read only ever touches the viewer's own rows: a foreign ID changes none.
        assert result.codes in (["NOT_FOUND"], []), result.errors
    else:
        assert result.codes == ["NOT_FOUND"], result.errors
