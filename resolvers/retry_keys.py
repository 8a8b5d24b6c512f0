"""clientMutationId: safe retries for flaky networks.

A key is unique per user for 24 hours. The first call with it runs as usual; its key goes
into the same transaction as its change (the flush before commit that every campaign and
card write queues, resolvers/writes.py), with what to answer a repeat: the objects it
returned. A repeat with the same mutation and input gets those objects in their current
state and writes nothing; the same key with anything else is BAD_USER_INPUT. Two calls
with one key at once, on any processes: the second's key insert waits for the first's
commit and fails, its change rolls back with it, and it answers as a repeat.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from strawberry.types.unset import UnsetType
from tortoise import timezone

from models import RetryKey, raw_sql
from realtime.after_commit import queue_until_commit
from resolvers.errors import BadUserInput

WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 200


@dataclass
class Pending:
    """The key of the mutation under way, and what a repeat is to be answered with."""

    user_pk: int
    key: str
    operation: str
    fingerprint: str
    result: dict[str, Any] | None = None
    queued: bool = False


_pending: ContextVar[Pending | None] = ContextVar("retry key", default=None)


def fingerprint(operation: str, arguments: dict[str, Any]) -> str:
    """The mutation and its input, the key itself left out."""
    text = json.dumps([operation, _plain(arguments)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "client_mutation_id"
        }
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "client_mutation_id"}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, UnsetType):
        return "<unset>"
    if isinstance(value, enum.Enum):
        return value.value
    return value


def checked_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadUserInput(
            f"clientMutationId must be 1 to {MAX_KEY_LENGTH} characters", field="clientMutationId"
        )
    return key


async def answered(user_pk: int, key: str, operation: str, print_: str) -> dict[str, Any] | None:
    """What the first call with this key returned; None when there was none (in 24 h)."""
    row = await RetryKey.get_or_none(
        user_id=user_pk, key=key, created_at__gt=timezone.now() - WINDOW
    )
    if row is None:
        return None
    if row.operation != operation or row.fingerprint != print_:
        raise BadUserInput(
            "clientMutationId was already used with another mutation or other input",
            field="clientMutationId",
        )
    return dict(row.result)


@contextmanager
def keyed(pending: Pending) -> Iterator[None]:
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)


def client_mutation_id() -> str | None:
    """The key of the mutation under way (every event it logs carries it)."""
    pending = _pending.get()
    return None if pending is None else pending.key


def remember(**result: Any) -> None:
    """What a repeat of the mutation under way is answered with (call inside its
    transaction, once the objects are known)."""
    pending = _pending.get()
    if pending is not None:
        pending.result = result


def queue_key() -> None:
    """Store the mutation's key with this transaction (the first one of the mutation)."""
    pending = _pending.get()
    if pending is None or pending.queued:
        return
    pending.queued = True
    queue_until_commit("retry key", _store).append(pending)


async def _store(pending: list[Pending]) -> None:
    now = timezone.now()
    for one in pending:
        # An expired key of the same name goes: the key is unique per user.
        await raw_sql.execute(
            "DELETE FROM retry_key WHERE user_id = $1 AND key = $2 AND created_at <= $3",
            one.user_pk,
            one.key,
            now - WINDOW,
        )
        await RetryKey.create(
            user_id=one.user_pk,
            key=one.key,
            operation=one.operation,
            fingerprint=one.fingerprint,
            result=one.result or {},
            created_at=now,
        )


async def purge(before: datetime) -> int:
    """Drop keys past their 24 hours (a background round)."""
    return await RetryKey.filter(created_at__lte=before).delete()
