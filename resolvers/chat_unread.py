"""The live stream of a viewer's unread chat counts (resolvers/chat_counts.py).

Per process, one counter hears CHAT_NOTICES for every stream: after each burst of
notices (at most every COALESCE_SECONDS) it works out which of its users a notice
concerns (those who see the campaign named, or whose marker moved), re-counts those
pairs in one query, and hands each stream of those users its new counts. A notice
costs the process one query, and nothing for the streams it does not concern.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import partial
from typing import cast
from weakref import WeakKeyDictionary

from models import User
from models.database import until_reachable
from realtime.bus import Bus
from realtime.channels import CHAT_NOTICES
from resolvers.access import sees_campaign, visible_campaigns
from resolvers.chat_counts import Changed, Marked, Unread, parse_notice, unread
from resolvers.subscriptions import campaign_access
from resolvers.viewers import fresh_users

logger = logging.getLogger("funnelgraph.chat")

COALESCE_SECONDS = 0.4
GONE = None  # the campaign is no longer the viewer's: its count is dropped, not sent


class _Inbox:
    """The counts one stream has been handed and not taken, newest per campaign."""

    __slots__ = ("_counts", "_wake", "ended")

    def __init__(self) -> None:
        self._counts: dict[int, Unread | None] = {}
        self._wake = asyncio.Event()
        self.ended = False  # the user was deleted

    def offer(self, campaign_pk: int, found: Unread | None) -> None:
        self._counts[campaign_pk] = found
        self._wake.set()

    def end(self) -> None:
        self.ended = True
        self._wake.set()

    async def take(self) -> dict[int, Unread | None]:
        while not self._counts and not self.ended:
            self._wake.clear()
            await self._wake.wait()
        counts, self._counts = self._counts, {}
        return counts


class _Counter:
    """One process's re-counting for all its streams of unread counts."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._inboxes: dict[int, set[_Inbox]] = {}  # by user
        self._ready: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def attached(self, user_pk: int) -> AsyncIterator[_Inbox]:
        """An inbox for the user's counts; what changes after this returns reaches it."""
        if self._task is None or self._task.done():
            self._ready = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._run(self._ready), name="unread-counter")
        inbox = _Inbox()
        self._inboxes.setdefault(user_pk, set()).add(inbox)
        try:
            assert self._ready is not None
            await asyncio.shield(self._ready)
            yield inbox
        finally:
            inboxes = self._inboxes.get(user_pk, set())
            inboxes.discard(inbox)
            if not inboxes:
                self._inboxes.pop(user_pk, None)
            if not self._inboxes and self._task is not None:
                self._task.cancel()
                self._task = None

    async def _run(self, ready: asyncio.Future[None]) -> None:
        async with self._bus.notices.listen(CHAT_NOTICES) as listener:
            ready.set_result(None)
            while True:
                await listener.wait()
                await asyncio.sleep(COALESCE_SECONDS)
                notices, everything = listener.take()
                try:
                    await self._recount(notices, everything)
                except Exception:  # the next notice re-counts; a stream never dies of it
                    logger.exception("re-counting unread chat failed")

    async def _recount(self, notices: frozenset[str], everything: bool) -> None:
        named = _named(notices)
        pairs: set[tuple[int, int]] = set()
        gone: set[tuple[int, int]] = set()
        users = list(self._inboxes)
        viewers = await until_reachable(partial(fresh_users, users), "re-reading users")
        for user_pk, viewer in zip(users, viewers, strict=True):
            if viewer is None:
                for inbox in self._inboxes.get(user_pk, ()):
                    inbox.end()
                continue
            campaigns = named.get(user_pk, {}) | named.get(None, {})
            if everything:
                campaigns = dict.fromkeys(await _visible_campaigns(viewer), 0)
            for campaign_pk, at_least in campaigns.items():
                seen = await _sees(viewer, campaign_pk, at_least)
                (pairs if seen else gone).add((user_pk, campaign_pk))
        found = await until_reachable(partial(unread, pairs), "counting unread chat")
        for pair in pairs | gone:
            user_pk, campaign_pk = pair
            for inbox in self._inboxes.get(user_pk, ()):
                inbox.offer(campaign_pk, found.get(pair, GONE))


_counters: WeakKeyDictionary[Bus, _Counter] = WeakKeyDictionary()


async def my_unread(viewer: User, bus: Bus) -> AsyncIterator[Unread]:
    """The viewer's counts: one per campaign with unread messages, then each change."""
    counter = _counters.setdefault(bus, _Counter(bus))
    async with counter.attached(viewer.pk) as inbox:
        campaigns = await _visible_campaigns(viewer)
        first = await unread([(viewer.pk, pk) for pk in campaigns])
        known = {campaign_pk: found for (_, campaign_pk), found in first.items()}
        for campaign_pk in campaigns:
            if campaign_pk in known and known[campaign_pk].count:
                yield known[campaign_pk]
        while not inbox.ended:
            for campaign_pk, found in sorted((await inbox.take()).items()):
                if found is GONE:
                    known.pop(campaign_pk, None)
                elif found != known.get(campaign_pk):
                    if found.count or campaign_pk in known:
                        yield found
                    known[campaign_pk] = found


async def _visible_campaigns(viewer: User) -> list[int]:
    pks = await visible_campaigns(viewer).order_by("id").values_list("id", flat=True)
    return cast("list[int]", pks)


def _named(notices: Iterable[str]) -> dict[int | None, dict[int, int]]:
    """The campaigns the notices name, per user (None: every user who sees it), each with
    the event seq its access must be judged at, at least."""
    named: dict[int | None, dict[int, int]] = {}
    for notice in notices:
        parsed = parse_notice(notice)
        if isinstance(parsed, Changed):
            everyone = named.setdefault(None, {})
            everyone[parsed.campaign_pk] = max(parsed.seq, everyone.get(parsed.campaign_pk, 0))
        elif isinstance(parsed, Marked):
            named.setdefault(parsed.user_pk, {}).setdefault(parsed.campaign_pk, 0)
    return named


async def _sees(viewer: User, campaign_pk: int, at_least: int) -> bool:
    access = await until_reachable(
        partial(campaign_access, campaign_pk, at_least), "re-reading campaign access"
    )
    return access.exists and sees_campaign(viewer, access.manager_pk, access.members)
