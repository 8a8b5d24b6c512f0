"""Rate limits: login brute force per email and per client address, and operations per
user per second. In memory on the embedded default; in Redis, shared by every process."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from server.auth import JwtTokens
from server.settings import Environment, Limits
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import PASSWORD, make_user
from tests.graphql import GraphQLClient
from tests.live import free_port, post, redis_server, serving, wait_for_a_fresh_second

LOGIN = """
mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) {
  token } }
"""
LIMITS = Limits(
    login_failures_per_email=3,
    login_failures_per_address=6,
    login_cooldown_seconds=60,
    operations_per_second=100_000,
)


@pytest.fixture
def settings(request, database_url):
    """Production settings with LIMITS; a test may override them through indirect
    parametrization: @pytest.mark.parametrize("settings", [{...}], indirect=True)."""
    overrides = {"limits": LIMITS, **getattr(request, "param", {})}
    return make_settings(database_url, environment=Environment.PRODUCTION, **overrides)


async def login(api: GraphQLClient, email: str, password: str):
    return await api.execute(LOGIN, {"email": email, "password": password})


async def test_failed_logins_for_one_email_lock_it_for_a_cool_down(api):
    user = await make_user()
    failures = [(await login(api, user.email, "wrong-guess")).codes for _ in range(3)]

    locked = await login(api, user.email, PASSWORD)

    assert failures == [["UNAUTHENTICATED"]] * 3
    assert locked.codes == ["RATE_LIMITED"]
    assert 0 < locked.errors[0]["extensions"]["retryAfterSeconds"] <= 60
    assert "too many failed logins" in locked.errors[0]["message"]


async def test_parallel_guesses_cannot_slip_under_the_email_limit(api):
    user = await make_user()
    results = await asyncio.gather(*(login(api, user.email, f"guess-{n}") for n in range(20)))
    codes = sorted(code for result in results for code in result.codes)

    assert codes == ["RATE_LIMITED"] * 17 + ["UNAUTHENTICATED"] * 3


async def test_a_locked_email_does_not_lock_other_users(api):
    victim, other = await make_user(), await make_user()
    for _ in range(3):
        await login(api, victim.email, "wrong-guess")

    assert (await login(api, other.email, PASSWORD)).ok()["login"]["token"]


async def test_failures_spread_over_many_emails_lock_the_client_address(api):
    user = await make_user()
    for number in range(6):
        await login(api, f"guess{number}@example.com", "wrong-guess")

    assert (await login(api, user.email, PASSWORD)).codes == ["RATE_LIMITED"]


async def test_another_address_is_not_locked_by_one_address_failing(app, settings):
    user = await make_user()
    for number in range(6):
        async with _client(app, settings, "10.0.0.1") as attacker:
            await login(attacker, f"guess{number}@example.com", "wrong-guess")

    async with _client(app, settings, "10.0.0.2") as honest:
        assert (await login(honest, user.email, PASSWORD)).ok()["login"]["token"]


async def test_successful_logins_do_not_use_up_the_address_limit(api):
    """An office behind one address logs in all day: only failures count against it."""
    user = await make_user()
    for _ in range(8):
        assert (await login(api, user.email, PASSWORD)).ok()
    assert (await login(api, "someone@example.com", "wrong")).codes == ["UNAUTHENTICATED"]


async def test_a_successful_login_forgives_earlier_failures_of_the_email(api):
    user = await make_user()
    for _ in range(2):
        await login(api, user.email, "wrong-guess")
    assert (await login(api, user.email, PASSWORD)).ok()
    for _ in range(2):
        await login(api, user.email, "wrong-guess")

    assert (await login(api, user.email, PASSWORD)).ok()


@pytest.mark.parametrize(
    "settings",
    [{"limits": Limits(login_failures_per_email=1, login_cooldown_seconds=1)}],
    indirect=True,
)
async def test_the_lock_ends_with_the_cool_down(api):
    user = await make_user()
    await login(api, user.email, "wrong-guess")
    locked = await login(api, user.email, PASSWORD)
    await asyncio.sleep(1.2)
    after = await login(api, user.email, PASSWORD)

    assert locked.codes == ["RATE_LIMITED"]
    assert after.ok()["login"]["token"]


@pytest.mark.parametrize("settings", [{"limits": Limits(operations_per_second=5)}], indirect=True)
async def test_operations_over_the_per_second_limit_are_refused(api):
    user, other = await make_user(), await make_user()
    wait_for_a_fresh_second()
    codes = [(await api.execute("{ me { id } }", viewer=user)).codes for _ in range(8)]
    others = await api.execute("{ me { id } }", viewer=other)
    await asyncio.sleep(1.05)
    later = await api.execute("{ me { id } }", viewer=user)

    assert codes[:5] == [[]] * 5
    assert codes[5:] == [["RATE_LIMITED"]] * 3
    assert others.ok()
    assert later.ok()


class _client:
    def __init__(self, app, settings, address: str) -> None:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://test")
        self.settings = settings

    async def __aenter__(self) -> GraphQLClient:
        await self.http.__aenter__()
        return GraphQLClient(self.http, self.settings)

    async def __aexit__(self, *exc: object) -> None:
        await self.http.__aexit__(*exc)


@pytest.mark.postgres_only
async def test_login_failures_count_across_processes_through_redis(app, database_url, repo_root):
    user = await make_user()
    variables = {"email": user.email, "password": "wrong-guess"}
    with redis_server() as redis:
        env = _production_env(database_url, redis.url, LOGIN_FAILURES_PER_EMAIL="3")
        with serving(repo_root, **env) as first, serving(repo_root, **env) as second:
            failures = [
                await post(first, LOGIN, variables, ""),
                await post(second, LOGIN, variables, ""),
                await post(first, LOGIN, variables, ""),
            ]
            right = {"email": user.email, "password": PASSWORD}
            on_second = await post(second, LOGIN, right, "")

    assert [f["errors"][0]["extensions"]["code"] for f in failures] == ["UNAUTHENTICATED"] * 3
    assert on_second["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


@pytest.mark.postgres_only
async def test_operations_per_second_count_across_processes_through_redis(
    app, database_url, repo_root
):
    user = await make_user()
    token = JwtTokens(TEST_SECRET, 3600).issue(user).token
    with redis_server() as redis:
        env = _production_env(database_url, redis.url, OPERATIONS_PER_SECOND="4")
        with serving(repo_root, **env) as first, serving(repo_root, **env) as second:
            wait_for_a_fresh_second()
            answers = [await post(base, "{ me { id } }", {}, token) for base in (first, second) * 3]

    codes = [_code(answer) for answer in answers]
    assert codes == [None, None, None, None, "RATE_LIMITED", "RATE_LIMITED"]


@pytest.mark.parametrize(
    "settings", [{"redis_url": f"redis://127.0.0.1:{free_port()}/0"}], indirect=True
)
async def test_a_redis_outage_does_not_refuse_logins(api):
    """Refusing everyone while the cache is down would turn its outage into ours."""
    user = await make_user()
    assert (await login(api, user.email, PASSWORD)).ok()["login"]["token"]


def _production_env(database_url: str, redis_url: str, **limits: str) -> dict[str, str]:
    """A production server's environment, sharing `redis_url` with its siblings."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": TEST_SECRET,
        "FUNNELGRAPH_ENV": "production",
        **limits,
    }


def _code(answer: dict) -> str | None:
    errors = answer.get("errors") or [{}]
    return errors[0].get("extensions", {}).get("code")


@pytest.mark.parametrize(
    "settings", [{"limits": Limits(login_failures_per_address=1000)}], indirect=True
)
async def test_a_login_flood_does_not_stall_other_requests(api):
    """Each password check costs about 0.1 s of CPU; it runs beside the event loop, so a
    query sent during a flood of logins is answered before the flood is through."""
    user = await make_user()
    finished: list[str] = []

    async def attempt(number: int) -> None:
        await login(api, f"flood{number}@example.com", "wrong-guess")
        finished.append("login")

    async def query() -> None:
        await asyncio.sleep(0.05)  # the flood is under way
        assert (await api.execute("{ me { id } }", viewer=user)).ok()
        finished.append("query")

    await asyncio.gather(*(attempt(number) for number in range(12)), query())

    assert finished.index("query") < len(finished) - 1, finished
