"""Who a request or a stream acts for: a user's row, read at most once a second per process.

Every HTTP request and every live event needs its viewer's permissions; reading the row
for each would be one query per request. The rows are shared by every request and stream
of the process (they are read-only here) and refreshed ahead of use, so a revoked
permission or a deleted user takes effect within RECHECK_SECONDS (twice that under load).
"""

from __future__ import annotations

from functools import partial

from models import User
from resolvers.shared_reads import Missing, SharedReads

RECHECK_SECONDS = 1.0

_viewers: SharedReads[User | None] = SharedReads(RECHECK_SECONDS)


async def fresh_viewer(user_pk: int) -> User | None:
    """The user's row (None once deleted), at most RECHECK_SECONDS old."""
    return await _viewers.get(user_pk, partial(User.get_or_none, id=user_pk))


def known_viewer(user_pk: int) -> User | Missing | None:
    """The row if this process holds it fresh, with no await; else MISSING."""
    return _viewers.known(user_pk)


def forget_viewers() -> None:
    _viewers.clear()
