"""Property-based fuzzing of our own schema (hypothesis-graphql) against a real
production-mode server: no generated operation, valid or not, gets a 5xx or an
INTERNAL_SERVER_ERROR, every error carries a contract code, and afterwards the server
still answers a normal query promptly.

CI runs a fixed, derandomized corpus; FUZZ_EXAMPLES=2000 FUZZ_RANDOM=1 explores more.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from schema.schema import export_sdl
from tests.conftest import BACKEND, TEST_SECRET
from tests.live import FUNNELGRAPH, server_process

CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "DUPLICATE_OPPORTUNITY",
    "RESYNC_REQUIRED",
    "RATE_LIMITED",
    "GRAPHQL_VALIDATION_FAILED",
}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SCALARS = {
    "DateTime": st.datetimes().map(lambda moment: nodes.String(moment.isoformat())),
    "Decimal": st.decimals().map(lambda value: nodes.String(str(value)))
    | st.sampled_from(["NaN", "sNaN", "-Infinity", "1e999999", "-0"]).map(nodes.String)
    | st.text(max_size=30).map(nodes.String),
}
SDL = export_sdl()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request) -> Iterator[tuple[str, str]]:
    """A production server on this run's backend, and an all-permissions user's token."""
    database_url = str(request.getfixturevalue(f"{BACKEND}_url"))
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "FUNNELGRAPH_ENV": "production",
    }
    cwd = tmp_path_factory.mktemp("fuzz")
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    permissions = [
        flag
        for name in (
            "USER_ADMIN",
            "CAMPAIGN_CREATE",
            "CAMPAIGN_EDIT",
            "VIEW_ALL",
            "OPPORTUNITY_ACCESS",
            "OPPORTUNITY_CREATE",
            "OPPORTUNITY_EDIT",
            "OPPORTUNITY_DELETE",
        )
        for flag in ("--permission", name)
    ]
    subprocess.run(
        [
            FUNNELGRAPH,
            "create-user",
            "--email",
            email,
            "--name",
            "Fuzz",
            "--password",
            "fuzz-password-1",
            *permissions,
        ],
        cwd=cwd,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    with server_process(cwd, **env) as (base, _process):
        token = _seed(base, email)
        yield base, token


def _seed(base: str, email: str) -> str:
    """Logs in and makes a campaign, a customer and a card, so reads meet real rows."""
    login = _post(
        base,
        "",
        'mutation($e: String!) { login(email: $e, password: "fuzz-password-1") { token } }',
        {"e": email},
    )
    token = str(login["data"]["login"]["token"])
    campaign = _post(
        base,
        token,
        'mutation { createCampaign(input: {name: "Fuzz", stages: ["New", "Won"]}) { id } }',
    )["data"]["createCampaign"]["id"]
    customer = _post(base, token, 'mutation { createCustomer(input: {name: "Acme"}) { id } }')[
        "data"
    ]["createCustomer"]["id"]
    _post(
        base,
        token,
        "mutation($c: ID!, $k: ID!) { createOpportunity(input: "
        "{campaignId: $c, customerId: $k}) { id } }",
        {"c": campaign, "k": customer},
    )
    return token


def _post(base: str, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=30,
    )
    assert response.status_code < 500, (query, response.status_code, response.text)
    return response.json()


def _answers_cleanly(base: str, token: str, query: str) -> None:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code < 500, (query, response.status_code, response.text)
    if response.status_code != 200:
        return  # an HTTP refusal (4xx) is a clean answer too
    for error in response.json().get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        assert code in CODES, (query, error)
        assert "Traceback" not in error["message"], (query, error)


@pytest.mark.parametrize(
    "strategy",
    [
        pytest.param(from_schema(SDL, custom_scalars=SCALARS), id="valid"),
        pytest.param(from_schema(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE), id="invalid"),
    ],
)
def test_generated_operations_never_fail_the_server(server, strategy):
    base, token = server

    @FUZZ
    @given(query=strategy)
    def check(query: str) -> None:
        _answers_cleanly(base, token, query)

    check()
    started = time.perf_counter()
    me = _post(base, token, "{ me { name } campaigns { totalCount } }")
    elapsed = time.perf_counter() - started

    assert me["data"]["me"]["name"] == "Fuzz"
    assert elapsed < 2.0, f"a normal query took {elapsed:.2f}s after the corpus"
