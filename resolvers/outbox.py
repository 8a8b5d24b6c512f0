"""Transactions whose realtime signals go out only after they commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from tortoise.transactions import in_transaction

from realtime.bus import current_bus

_pending: ContextVar[list[tuple[str, int]] | None] = ContextVar("pending_signals", default=None)


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """One database transaction; signals queued inside are published after commit."""
    queued: list[tuple[str, int]] = []
    token = _pending.set(queued)
    try:
        async with in_transaction():
            yield
    finally:
        _pending.reset(token)
    bus = current_bus()
    if bus is not None:
        for channel, seq in dict(queued).items():
            await bus.publish(channel, seq)


def signal_after_commit(channel: str, seq: int) -> None:
    """Queue "row `seq` committed on `channel`" for the enclosing transaction."""
    queued = _pending.get()
    if queued is None:
        raise RuntimeError("signal_after_commit needs an enclosing outbox.transaction()")
    queued.append((channel, seq))
