"""GraphQL over HTTP: application/graphql-response+json for the clients that ask for it,
with status codes that tell a request error from an executed operation, and
application/json, 200, for everyone else; Retry-After on a rate refusal either way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.graphql_response import MEDIA_TYPE, asks_for_graphql_response
from server.settings import Limits
from tests.conftest import make_settings
from tests.factories import make_user

WANTS_IT = {"Accept": MEDIA_TYPE}
ME = "{ me { name } }"
MALFORMED = "{ me { name }"
UNKNOWN_FIELD = "{ me { shoeSize } }"
NEEDS_A_VARIABLE = "query($id: ID!) { node(id: $id) { id } }"
EMPTY_NAME = 'mutation { createCustomer(input: {name: "  "}) { id } }'


@pytest.fixture
def settings(request, database_url):
    """The test settings; a test may set Limits through indirect parametrization."""
    return make_settings(database_url, **getattr(request, "param", {}))


async def post(api, viewer, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    auth = {"Authorization": f"Bearer {api.token_for(viewer)}"}
    return await api.http.post("/graphql", json=body, headers={**auth, **(headers or {})})


async def test_an_executed_operation_is_answered_200_in_the_media_type_asked_for(api):
    viewer = await make_user(name="Ana")
    response = await post(api, viewer, {"query": ME}, WANTS_IT)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{MEDIA_TYPE}; charset=utf-8"
    assert response.json() == {"data": {"me": {"name": "Ana"}}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": MALFORMED}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": UNKNOWN_FIELD}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": NEEDS_A_VARIABLE, "variables": {}}, "BAD_USER_INPUT"),
    ],
    ids=["does not parse", "does not validate", "variables do not coerce"],
)
async def test_an_operation_that_never_ran_gets_400_and_no_data_entry(api, body, code):
    viewer = await make_user()
    response = await post(api, viewer, body, WANTS_IT)
    assert response.status_code == 400
    assert response.headers["content-type"] == f"{MEDIA_TYPE}; charset=utf-8"
    answer = response.json()
    assert "data" not in answer
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]
    assert "path" not in answer["errors"][0]


async def test_an_operation_whose_field_failed_ran_and_is_answered_200_with_its_data(api):
    # given a mutation refused by its own rule (a name of blanks), after it ran
    viewer = await make_user()
    response = await post(api, viewer, {"query": EMPTY_NAME}, WANTS_IT)
    # then the answer has its data entry, null, and the error has the field's path
    answer = response.json()
    assert response.status_code == 200
    assert answer["data"] is None
    assert answer["errors"][0]["path"] == ["createCustomer"]
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "body",
    [
        {"qeury": ME},
        {"query": 1},
        {"query": ME, "variables": "x"},
        {"query": ME, "operationName": ["Me"]},
        {"query": ME, "extensions": 7},
    ],
    ids=["no query", "query not text", "variables", "operation name", "extensions"],
)
async def test_invalid_parameters_get_400(api, body):
    viewer = await make_user()
    response = await post(api, viewer, body, WANTS_IT)
    assert response.status_code == 400


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
async def test_other_clients_keep_application_json_and_200_for_any_graphql_answer(api, accept):
    viewer = await make_user()
    headers = {} if accept is None else {"Accept": accept}
    for query in (MALFORMED, UNKNOWN_FIELD):
        response = await post(api, viewer, {"query": query}, headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json()["data"] is None


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        (MEDIA_TYPE, True),
        (f"{MEDIA_TYPE}, application/json", True),
        (f"application/json, {MEDIA_TYPE}", True),  # as preferred: the precise one
        (f"{MEDIA_TYPE};q=0.9, application/json", False),
        (f"{MEDIA_TYPE};q=0.9, application/json;q=0.8", True),
        (f"{MEDIA_TYPE};q=0, */*", False),
        (f"{MEDIA_TYPE};q=oops", False),
        (f"text/html, {MEDIA_TYPE.upper()}", True),
        ("application/graphql-response+jsonx", False),
    ],
)
def test_the_accept_header_decides_the_media_type(accept, wanted):
    assert asks_for_graphql_response(accept) is wanted


@pytest.mark.parametrize("settings", [{"limits": Limits(operations_per_second=2)}], indirect=True)
@pytest.mark.parametrize(("headers", "status"), [(WANTS_IT, 429), ({}, 200)])
async def test_a_rate_refusal_says_when_to_try_again(api, headers, status):
    viewer = await make_user()
    answers = [await post(api, viewer, {"query": ME}, headers) for _ in range(4)]
    refused = [a for a in answers if a.json().get("errors")]
    assert refused, "four operations in a second by one user, with a cap of two"
    for answer in refused:
        assert answer.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert answer.status_code == status
        assert answer.headers["retry-after"] == "1"
    assert all("retry-after" not in a.headers for a in answers if a not in refused)
