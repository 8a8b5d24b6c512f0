"""Who a request or a stream acts for: a user's row, read at most once a second per process.

Every HTTP request and every live event needs its viewer's permissions; reading the row
for each would be one query per request. The rows are shared by every request and stream
of the process (they are read-only here) and refreshed ahead of use, so a revoked
permission or a deleted user takes effect within RECHECK_SECONDS (twice that under load).
"""

from __future__ import annotations

import asyncio
from functools import partial

from models import User
from resolvers.shared_reads import Missing, SharedReads

RECHECK_SECONDS = 1.0


class _Batch:
    """Rows asked for in the same pass of the event loop, read in one query: a thousand
    streams whose viewers go stale together (an event after a quiet second) make one
    query, not a thousand. (Strawberry's DataLoader batches the same way, but it binds
    to the first event loop it runs on; this one is shared by the whole process.)"""

    def __init__(self) -> None:
        self._pending: dict[int, asyncio.Future[User | None]] = {}
        self._reading: set[asyncio.Task[None]] = set()  # held, so none is collected midway

    async def read(self, user_pk: int) -> User | None:
        future = self._pending.get(user_pk)
        if future is None:
            loop = asyncio.get_running_loop()
            if not self._pending:
                loop.call_soon(self._flush)
            future = self._pending[user_pk] = loop.create_future()
        return await asyncio.shield(future)

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        task = asyncio.create_task(self._read(pending), name="reading viewers")
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)

    async def _read(self, pending: dict[int, asyncio.Future[User | None]]) -> None:
        try:
            rows = {row.pk: row for row in await User.filter(id__in=list(pending))}
        except Exception as error:
            for future in pending.values():
                if not future.done():
                    future.set_exception(error)
            return
        for pk, future in pending.items():
            if not future.done():
                future.set_result(rows.get(pk))


_batch = _Batch()


def _same_row(old: User | None, new: User | None) -> bool:
    """Every column the same (a model's == compares keys only)."""
    if old is None or new is None:
        return old is new
    columns = User._meta.fields_db_projection
    return all(getattr(old, name) == getattr(new, name) for name in columns)


_viewers: SharedReads[User | None] = SharedReads(RECHECK_SECONDS, same=_same_row)


async def fresh_viewer(user_pk: int) -> User | None:
    """The user's row (None once deleted), at most RECHECK_SECONDS old."""
    return await _viewers.get(user_pk, partial(_batch.read, user_pk))


def viewer_if_fresh(user_pk: int) -> User | Missing | None:
    """fresh_viewer's answer when it needs no read (nothing to await: every request
    asks), else MISSING."""
    return _viewers.known(user_pk)


async def fresh_users(user_pks: list[int]) -> list[User | None]:
    """fresh_viewer of each, read together."""
    return list(await asyncio.gather(*(fresh_viewer(pk) for pk in user_pks)))


def known_viewer(user_pk: int) -> User | Missing | None:
    """The row if this process holds it fresh, with no await; else MISSING."""
    return _viewers.known(user_pk)


def forget_viewers() -> None:
    _viewers.clear()
