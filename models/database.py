"""Opening, migrating and closing the database, for any supported URL."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
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


async def open_database(database_url: str) -> None:
    # Global, not only this task's context: the lifespan opens it, requests use it.
    # (Tortoise's own Starlette and FastAPI integrations do the same.)
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def apply_migrations(database_url: str) -> None:
    """Bring the schema up to the newest migration in the repo, then disconnect."""
    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()
