"""Readiness checks for load balancers."""

from __future__ import annotations

import asyncio

from models.database import ping


async def database_answers() -> bool:
    """Whether the database answers a trivial query within two seconds."""
    try:
        async with asyncio.timeout(2):
            await ping()
    except Exception:  # any failure means "not ready"; the probe never raises
        return False
    return True
