"""Opening, migrating and closing the database, for any supported URL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

T = TypeVar("T")
logger = logging.getLogger("funnelgraph.database")

# What a database that is down, restarting or unreachable raises: refused or reset
# sockets (OSError, Tortoise's DBConnectionError), connections the server terminated,
# and a server still starting up. A cancelled statement is not among them. asyncpg
# may also leave a connection terminated mid-transaction in a broken state and say
# "cannot switch to state 12" on its next use (MagicStack/asyncpg#1069); the pool
# drops it when its reset fails.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.InternalClientError,
)
RETRY_CAP_SECONDS = 1.0


QueryLogger = Callable[[Any], None]


def _connection(database_url: str, on_query: QueryLogger | None = None) -> str | dict[str, Any]:
    """The URL, with one change on PostgreSQL: a connection going back to the pool is only
    rolled back if a transaction is open, not reset. asyncpg's reset (UNLISTEN, RESET ALL,
    advisory locks) is a round trip on every release, and nothing here sets session
    state: no LISTEN, SET or advisory lock on these connections."""
    config = expand_db_url(database_url)
    if config["engine"] != "tortoise.backends.asyncpg":
        return database_url
    config["credentials"]["reset"] = _keep_session
    if on_query is not None:  # told of every statement (server/tracing.py)

        async def logging_queries(connection: asyncpg.Connection) -> None:
            connection.add_query_logger(on_query)

        config["credentials"]["init"] = logging_queries
    return config


async def _keep_session(connection: asyncpg.Connection) -> None:
    """asyncpg has already rolled back an open transaction by the time this runs."""


def tortoise_config(database_url: str, on_query: QueryLogger | None = None) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url, on_query)},
        "apps": {
            "models": {
                "models": ["models"],
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(database_url: str, on_query: QueryLogger | None = None) -> None:
    # Global, not only this task's context: the lifespan opens it, requests use it.
    # (Tortoise's own Starlette and FastAPI integrations do the same.)
    # On PostgreSQL `on_query` hears of every statement run (asyncpg's query logger).
    config = tortoise_config(database_url, on_query)
    await Tortoise.init(config=config, _enable_global_fallback=True)


async def close_database(timeout: float = 5.0) -> None:
    """Close the pools; connections still busy after `timeout` are left to the process's exit."""
    try:
        async with asyncio.timeout(timeout):
            await Tortoise.close_connections()
    except TimeoutError:
        logger.warning("database connections did not close within %.0f s", timeout)


async def apply_migrations(database_url: str) -> None:
    """Bring the schema up to the newest migration in the repo, then disconnect."""
    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


async def ping() -> None:
    """Raise unless the database answers a trivial query."""
    await connections.get("default").execute_query("SELECT 1")


def pool_in_use() -> int:
    """Connections lent out of the default pool now (0 without a pool: SQLite)."""
    try:
        pool = getattr(connections.get("default"), "_pool", None)
    except Exception:  # not open (yet, or any more)
        return 0
    if not isinstance(pool, asyncpg.Pool):
        return 0
    return int(pool.get_size() - pool.get_idle_size())


def is_unreachable(error: BaseException | None) -> bool:
    """Whether `error`, or an error that led to it, says the database is out of reach."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, _UNREACHABLE) or (
            isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error)
        ):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


async def until_reachable(work: Callable[[], Awaitable[T]], what: str) -> T:
    """`work()`, tried again (at most a second apart) for as long as the database is
    out of reach; any other error is raised."""
    delay = 0.05
    while True:
        try:
            return await work()
        except Exception as error:
            if not is_unreachable(error):
                raise
            log = logger.warning if delay == 0.05 else logger.debug  # once per wait
            log("%s: the database is out of reach (%s); waiting for it", what, error)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_CAP_SECONDS)
