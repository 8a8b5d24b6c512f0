"""Transactions whose realtime signals go out only after they commit.

Signals go to the bus of the operation under way: the app's Context carries it, and
each operation (schema/operation_context.py) or background round publishes to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tortoise.transactions import in_transaction

from realtime.bus import Bus

T = TypeVar("T")


@dataclass
class _Outbox:
    signals: list[tuple[str, int, Any]] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)
    queues: dict[str, list[Any]] = field(default_factory=dict)
    flushes: dict[str, Callable[[list[Any]], Awaitable[None]]] = field(default_factory=dict)


_current: ContextVar[_Outbox | None] = ContextVar("outbox", default=None)
_bus: ContextVar[Bus | None] = ContextVar("operation bus", default=None)


def publishing_to(bus: Bus | None) -> _Publishing:
    """Transactions committed inside this block signal on `bus` (None: on nothing;
    streams then find the rows in the log at their channel's next quiet check)."""
    return _Publishing(bus)


class _Publishing:
    """publishing_to's block. A class, not a generator: every operation enters one,
    and a generator-based context manager costs several times as much."""

    __slots__ = ("_bus", "_token")

    def __init__(self, bus: Bus | None) -> None:
        self._bus = bus

    def __enter__(self) -> None:
        self._token = _bus.set(self._bus)

    def __exit__(self, *_: object) -> None:
        _bus.reset(self._token)


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """One database transaction; signals queued inside are published after commit."""
    outbox = _Outbox()
    token = _current.set(outbox)
    try:
        async with in_transaction():
            yield
            for name, flush in outbox.flushes.items():
                await flush(outbox.queues[name])
    finally:
        _current.reset(token)
    bus = _bus.get()
    if bus is not None:
        for channel, seq, row in outbox.signals:
            bus.publish_soon(channel, seq, row)
        for channel, notice in outbox.notices:
            bus.notice_soon(channel, notice)


def signal_after_commit(channel: str, seq: int, row: Any = None) -> None:
    """Queue "row `seq` committed on `channel`" for the enclosing transaction; the `row`
    itself, as the log holds it, when the caller has it (for this process's streams)."""
    _outbox().signals.append((channel, seq, row))


def notice_after_commit(channel: str, notice: str) -> None:
    """Queue a notice (realtime/notices.py) on `channel` for the enclosing transaction."""
    _outbox().notices.append((channel, notice))


def queue_until_commit(name: str, flush: Callable[[list[T]], Awaitable[None]]) -> list[T]:
    """This transaction's queue `name`; `flush` gets it, last thing before commit."""
    outbox = _outbox()
    if name not in outbox.queues:
        outbox.queues[name] = []
        outbox.flushes[name] = flush
    return outbox.queues[name]


def _outbox() -> _Outbox:
    outbox = _current.get()
    if outbox is None:
        raise RuntimeError("this needs an enclosing after_commit.transaction()")
    return outbox
