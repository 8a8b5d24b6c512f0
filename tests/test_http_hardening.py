"""Hostile HTTP requests against a production-mode app: each gets a clear, cheap
refusal with the right status, and nothing is written."""

from __future__ import annotations

import json

import httpx
import jwt
import pytest

from models import Customer
from server.app import create_app
from server.settings import Environment, Limits
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_user

CREATE_CUSTOMER = 'mutation { createCustomer(input: {name: "Mallory Ltd"}) { id } }'
FORM_DATA = (
    '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n'
    + CREATE_CUSTOMER
    + "\r\n--x--\r\n"
)


@pytest.fixture
def settings(database_url):
    return make_settings(
        database_url,
        environment=Environment.PRODUCTION,
        limits=Limits(max_body_bytes=10_000, operations_per_second=100_000),
    )


def bearer(api, user) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token_for(user)}"}


async def test_a_batch_of_operations_is_refused(api):
    viewer = await make_user()
    batch = [{"query": "{ me { id } }"}, {"query": "{ me { name } }"}]
    response = await api.http.post("/graphql", json=batch, headers=bearer(api, viewer))
    assert response.status_code == 400
    assert "batching is not enabled" in response.text.lower()


async def test_a_mutation_over_get_is_refused_and_writes_nothing(api):
    viewer = await make_user()
    response = await api.http.get(
        "/graphql", params={"query": CREATE_CUSTOMER}, headers=bearer(api, viewer)
    )
    assert response.status_code == 400
    assert "mutations are not allowed when using GET" in response.text
    assert await Customer.all().count() == 0


async def test_a_query_over_get_is_answered(api):
    viewer = await make_user()
    response = await api.http.get(
        "/graphql", params={"query": "{ me { name } }"}, headers=bearer(api, viewer)
    )
    assert response.status_code == 200
    assert response.json()["data"]["me"]["name"] == viewer.name


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json.dumps({"query": CREATE_CUSTOMER})),
        ("text/plain;charset=UTF-8", json.dumps({"query": CREATE_CUSTOMER})),
        ("application/x-www-form-urlencoded", "query=" + CREATE_CUSTOMER),
        ("multipart/form-data; boundary=x", FORM_DATA),
        ("", json.dumps({"query": CREATE_CUSTOMER})),
    ],
)
async def test_a_cross_site_shaped_post_is_refused_and_writes_nothing(api, content_type, body):
    viewer = await make_user()
    headers = {**bearer(api, viewer), "Content-Type": content_type}
    response = await api.http.post("/graphql", content=body.encode(), headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["errors"][0]["message"]
    assert await Customer.all().count() == 0


async def test_a_json_post_with_a_charset_is_accepted(api):
    viewer = await make_user()
    headers = {**bearer(api, viewer), "Content-Type": "application/json; charset=utf-8"}
    body = json.dumps({"query": "{ me { name } }"}).encode()
    response = await api.http.post("/graphql", content=body, headers=headers)
    assert response.json()["data"]["me"]["name"] == viewer.name


async def test_a_body_over_the_limit_is_refused_with_413(api):
    viewer = await make_user()
    padding = " " * 10_000
    body = json.dumps({"query": "{ me { name }" + padding + "}"})
    response = await api.http.post(
        "/graphql",
        content=body.encode(),
        headers={**bearer(api, viewer), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "MAX_BODY_BYTES" in response.json()["errors"][0]["message"]


async def test_a_streamed_body_over_the_limit_is_refused_without_a_length(api):
    viewer = await make_user()

    async def chunks():
        yield b'{"query": "{ me { name } '
        for _ in range(20):
            yield b" " * 1000
        yield b'}"}'

    response = await api.http.post(
        "/graphql",
        content=chunks(),
        headers={**bearer(api, viewer), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


async def test_a_body_just_under_the_limit_is_answered(api):
    viewer = await make_user()
    query = "{ me { name } }"
    body = json.dumps({"query": query + " " * (9_900 - len(query))})
    response = await api.http.post(
        "/graphql",
        content=body.encode(),
        headers={**bearer(api, viewer), "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["me"]["name"] == viewer.name


@pytest.mark.parametrize(
    "body",
    ['{"query": "{ me { id } }"', "not json", '{"query": 42}', '"just a string"', "[1, 2"],
)
async def test_malformed_json_gets_400(api, body):
    viewer = await make_user()
    response = await api.http.post(
        "/graphql",
        content=body.encode(),
        headers={**bearer(api, viewer), "Content-Type": "application/json"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        jwt.encode({"sub": "1", "exp": 9_999_999_999}, "another-secret-" * 4, algorithm="HS256"),
        jwt.encode({"sub": "1", "exp": 9_999_999_999}, "", algorithm="none"),
        jwt.encode({"sub": "1", "exp": 1}, TEST_SECRET, algorithm="HS256"),
    ],
    ids=["garbage", "foreign-key", "alg-none", "expired"],
)
async def test_forged_and_expired_tokens_are_unauthenticated(api, token):
    await make_user()
    result = await api.execute("{ me { id } }", token=token)
    assert result.codes == ["UNAUTHENTICATED"]
    assert result.data is None or result.data.get("me") is None


async def test_an_unexpected_failure_shows_no_trace_or_exception_text(api, monkeypatch):
    import resolvers.customers

    async def broken(*args, **kwargs):
        raise RuntimeError("secret detail: password=hunter2 at /srv/app/resolvers.py")

    monkeypatch.setattr(resolvers.customers, "list_customers", broken)
    viewer = await make_user()
    response = await api.http.post(
        "/graphql", json={"query": "{ customers { totalCount } }"}, headers=bearer(api, viewer)
    )
    text = response.text
    assert response.json()["errors"][0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": response.headers["x-request-id"],  # to find its trace in the log by
    }
    assert "hunter2" not in text and "RuntimeError" not in text and "Traceback" not in text


async def test_with_allowed_origins_every_graphql_request_gets_cors_headers(database_url):
    # given an app that lets one browser origin in
    settings = make_settings(database_url, allowed_origins=("https://crm.example",))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            origin = {"Origin": "https://crm.example"}
            # when that browser asks first, then posts a query, and a refused body too
            preflight = await http.options(
                "/graphql",
                headers={**origin, "Access-Control-Request-Method": "POST"},
            )
            answered = await http.post("/graphql", json={"query": "{ me { id } }"}, headers=origin)
            refused = await http.post("/graphql", content="x", headers=origin)
            foreign = await http.post(
                "/graphql",
                json={"query": "{ me { id } }"},
                headers={"Origin": "https://evil.example"},
            )
    # then the answers carry CORS headers for it alone, refusals included
    assert preflight.headers["access-control-allow-origin"] == "https://crm.example"
    assert answered.headers["access-control-allow-origin"] == "https://crm.example"
    assert refused.status_code == 415
    assert refused.headers["access-control-allow-origin"] == "https://crm.example"
    assert "access-control-allow-origin" not in foreign.headers
