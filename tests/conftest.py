"""Fixtures: a migrated database, the ASGI app and a GraphQL client.

The suite runs once per backend, chosen by TEST_BACKEND: `postgres` (default) or
`sqlite` (the embedded default). scripts/test runs both. Tortoise caches its SQL
per connection name, so one process never switches backend. Tests marked
`postgres_only` (row locks, concurrency, Redis) are deselected, visibly, on
SQLite. PostgreSQL must answer at TEST_POSTGRES_URL (scripts/test starts it when
it does not); a test never skips for want of it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest
from tortoise import Tortoise, connections

from models.database import apply_migrations
from realtime.bus import Bus
from server.app import create_app
from server.settings import Environment, Limits, Settings
from tests.graphql import GraphQLClient

ADMIN_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"


async def _create_postgres_database() -> str:
    name = f"funnelgraph_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return ADMIN_POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


async def _drop_postgres_database(url: str) -> None:
    admin = await asyncpg.connect(ADMIN_POSTGRES_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = asyncio.run(_create_postgres_database())
    asyncio.run(apply_migrations(url))
    yield url
    asyncio.run(_drop_postgres_database(url))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    asyncio.run(apply_migrations(url))
    return url


async def _empty_tables(url: str) -> None:
    connection = connections.get("default")
    tables = [model._meta.db_table for model in Tortoise.apps["models"].values()]
    if url.startswith("postgres"):
        quoted = ", ".join(f'"{table}"' for table in tables)
        await connection.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    else:
        for table in tables:
            await connection.execute_script(f'DELETE FROM "{table}"')
        await connection.execute_script("DELETE FROM sqlite_sequence")


BACKEND = os.environ.get("TEST_BACKEND", "postgres")
if BACKEND not in ("postgres", "sqlite"):
    raise RuntimeError(f"TEST_BACKEND={BACKEND!r}: use 'postgres' or 'sqlite'")


def pytest_report_header() -> str:
    return f"funnelgraph backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND != "sqlite":
        return
    kept = [item for item in items if item.get_closest_marker("postgres_only") is None]
    deselected = [item for item in items if item.get_closest_marker("postgres_only")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """The migrated test database of this run's backend, emptied by `app`."""
    return str(request.getfixturevalue(f"{BACKEND}_url"))


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "redis_url": None,
        "secret_key": TEST_SECRET,
        "environment": Environment.DEVELOPMENT,
        "token_ttl_seconds": 3600,
        "allowed_origins": (),
        # Tests drive one user faster than a person would; the limits have tests of their own.
        "limits": Limits(operations_per_second=100_000),
        "log_operations": False,  # tests/test_observability.py reads the log
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await _empty_tables(settings.database_url)
        yield application


@pytest.fixture
def bus(app: Any) -> Bus:
    """The realtime bus the app's lifespan opened (what each operation's Context carries)."""
    graphql = next(route.app for route in app.routes if getattr(route, "path", "") == "/graphql")
    assert graphql.bus is not None
    return cast(Bus, graphql.bus)


@pytest.fixture
async def api(app: object, settings: Settings) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield GraphQLClient(http, settings)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
