"""A stream over a log: replay after a cursor, then live, never skipping or repeating."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from models.database import until_reachable
from realtime.hub import Hub, Pending, Prepare, Serve


async def follow(
    hub: Hub,
    channel: str,
    *,
    after: int,
    head: int,
    pending: Pending | None = None,
    deliver: Serve | None = None,
    prepare: Prepare | None = None,
) -> AsyncIterator[Any]:
    """Rows with seq > `after`, in seq order, then each new one as it is committed.

    The inbox opens before the replay, so a row committed meanwhile is either
    replayed or offered live; seq order drops the duplicate and reveals a gap,
    which is filled from the log. While the database is out of reach the stream waits,
    then goes on from where it was. `pending`: see realtime/hub.py's Inbox; `prepare`:
    its Hub.inbox.

    With `deliver`, a live row that is next in order may be passed on while the stream
    waits (it is then not yielded): `deliver` does what the stream's consumer would do
    with it, with no await, or says it cannot.
    """
    last = after

    def serve(row: Any) -> bool:
        nonlocal last
        seq = hub.log.seq_of(row)
        if deliver is None or seq != last + 1 or not deliver(row):
            return False
        last = seq
        return True

    while True:  # a new inbox when the channel's pump failed under the old one
        async with hub.inbox(channel, start=head, pending=pending, prepare=prepare) as inbox:
            inbox.serve = serve if deliver is not None else None
            read_log = True
            while not inbox.orphaned:
                if read_log:
                    inbox.behind = False
                    read = partial(hub.log.rows_after, channel, last)
                    rows = await until_reachable(read, "reading the event log")
                    for row in rows:
                        last = hub.log.seq_of(row)
                        yield row
                    if rows:
                        continue  # a full batch may have more behind it
                    read_log = False
                await inbox.wait()
                if inbox.behind:
                    read_log = True
                    continue
                for row in inbox.take_all():
                    seq = hub.log.seq_of(row)
                    if seq <= last:
                        continue
                    if seq != last + 1:
                        read_log = True
                        break
                    last = seq
                    yield row
