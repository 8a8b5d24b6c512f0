"""Readiness checks for load balancers."""

from __future__ import annotations

import asyncio

from tortoise import connections


async def database_answers() -> bool:
    """Whether the database answers a trivial query within two seconds."""
    try:
        async with asyncio.timeout(2):
            await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure means "not ready"; the probe never raises
        return False
    return True
