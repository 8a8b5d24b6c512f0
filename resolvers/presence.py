"""Who is on a campaign's board or chat now, for one viewer's stream; and typing."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from weakref import WeakKeyDictionary

from models import Campaign, User
from models.database import until_reachable
from realtime.presence import Presence, Snapshot
from realtime.shared_task import SharedTask
from resolvers.access import sees_campaign
from resolvers.context import Context
from resolvers.subscriptions import AccessWatch, campaign_access, stream_bus
from resolvers.viewers import fresh_users


class Activity(StrEnum):
    VIEWING = "VIEWING"
    TYPING = "TYPING"


@dataclass(frozen=True, slots=True)
class Entry:
    user: User
    activity: Activity


@dataclass(frozen=True, slots=True)
class Shown:
    """A campaign's presence as its subscribers in this process are shown it. Every
    stream that shows the same entries gets the same `version` (unique in the process),
    so that one execution serves all of them (schema/live_groups.py)."""

    version: int
    entries: list[Entry]


_versions = itertools.count(1)
# What each read of a campaign's presence shows, worked out once for all its streams.
_shown: WeakKeyDictionary[Snapshot, SharedTask[Shown]] = WeakKeyDictionary()
_last_shown: dict[int, Shown] = {}


async def campaign_presence(context: Context, campaign: Campaign) -> AsyncIterator[Shown]:
    """Who is on the campaign: now, then after every change. The viewer counts as viewing
    while this runs; the stream ends with FORBIDDEN once they may not see the campaign."""
    viewer = context.require_viewer()
    watch = AccessWatch(context, campaign.pk)
    last = None
    async with _presence(context).present(campaign.pk, viewer.pk) as watcher:
        while True:
            snapshot = await watcher.next()
            await watch.check_at(snapshot.access_seq)
            shown = await _shown_of(campaign.pk, snapshot)
            if shown.version != last:
                last = shown.version
                yield shown


async def _shown_of(campaign_pk: int, snapshot: Snapshot) -> Shown:
    work = _shown.get(snapshot)
    if work is None or (work.task.done() and not work.succeeded()):
        work = _shown[snapshot] = SharedTask(_show(campaign_pk, snapshot))
    return await work.result()


async def _show(campaign_pk: int, snapshot: Snapshot) -> Shown:
    entries = await _entries(campaign_pk, snapshot)
    last = _last_shown.get(campaign_pk)
    if last is None or _people(last.entries) != _people(entries):
        last = _last_shown[campaign_pk] = Shown(next(_versions), entries)
    return last


def _people(entries: list[Entry]) -> list[tuple[int, str, Activity]]:
    return [(entry.user.pk, entry.user.name, entry.activity) for entry in entries]


async def set_typing(context: Context, campaign: Campaign, typing: bool) -> None:
    """The viewer types (or stopped) in the campaign's chat: who may post there (the
    field's guard decides)."""
    await _presence(context).set_typing(campaign.pk, context.require_viewer().pk, typing)


async def _entries(campaign_pk: int, snapshot: Snapshot) -> list[Entry]:
    """The users present who may still see the campaign, by name; typing wins."""
    access = await until_reachable(
        partial(campaign_access, campaign_pk, snapshot.access_seq), "re-reading campaign access"
    )
    present = sorted(snapshot.viewing | snapshot.typing)
    users = await until_reachable(partial(fresh_users, present), "reading present users")
    entries = []
    for user in users:
        if user is None or not sees_campaign(user, access.manager_pk, access.members):
            continue
        typing = user.pk in snapshot.typing
        entries.append(Entry(user, Activity.TYPING if typing else Activity.VIEWING))
    return sorted(entries, key=lambda entry: (entry.user.name.casefold(), entry.user.pk))


def _presence(context: Context) -> Presence:
    presence = stream_bus(context).presence
    if presence is None:
        raise RuntimeError("no presence: the app's lifespan opens it with the bus")
    return presence
