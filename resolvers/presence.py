"""Who is on a campaign's board or chat now, for one viewer's stream; and typing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from models import Campaign, User
from models.database import until_reachable
from realtime.presence import Presence, Snapshot
from resolvers.access import sees_campaign
from resolvers.context import Context
from resolvers.errors import Forbidden
from resolvers.subscriptions import AccessWatch, campaign_access, stream_bus
from resolvers.viewers import fresh_viewer


class Activity(StrEnum):
    VIEWING = "VIEWING"
    TYPING = "TYPING"


@dataclass(frozen=True, slots=True)
class Entry:
    user: User
    activity: Activity


async def campaign_presence(context: Context, campaign: Campaign) -> AsyncIterator[list[Entry]]:
    """Who is on the campaign: now, then after every change. The viewer counts as viewing
    while this runs; the stream ends with FORBIDDEN once they may not see the campaign."""
    viewer = context.require_viewer()
    watch = AccessWatch(context, campaign.pk)
    last: list[tuple[int, str, Activity]] | None = None
    async with _presence(context).present(campaign.pk, viewer.pk) as watcher:
        while True:
            snapshot = await watcher.next()
            await watch.check_at(snapshot.access_seq)
            entries = await _entries(campaign.pk, snapshot)
            shown = [(entry.user.pk, entry.user.name, entry.activity) for entry in entries]
            if shown != last:
                last = shown
                yield entries


async def set_typing(context: Context, campaign: Campaign, typing: bool) -> None:
    viewer = context.require_viewer()
    if viewer.pk != campaign.manager_id and viewer.pk not in await _members(campaign.pk):
        raise Forbidden("only the campaign's manager and participants may type in its chat")
    await _presence(context).set_typing(campaign.pk, viewer.pk, typing)


async def _entries(campaign_pk: int, snapshot: Snapshot) -> list[Entry]:
    """The users present who may still see the campaign, by name; typing wins."""
    access = await until_reachable(
        partial(campaign_access, campaign_pk, snapshot.access_seq), "re-reading campaign access"
    )
    entries = []
    for user_pk in snapshot.viewing | snapshot.typing:
        user = await until_reachable(partial(fresh_viewer, user_pk), "reading a present user")
        if user is None or not sees_campaign(user, access.manager_pk, access.members):
            continue
        typing = user_pk in snapshot.typing
        entries.append(Entry(user, Activity.TYPING if typing else Activity.VIEWING))
    return sorted(entries, key=lambda entry: (entry.user.name.casefold(), entry.user.pk))


async def _members(campaign_pk: int) -> frozenset[int]:
    access = await campaign_access(campaign_pk, 0)
    return access.members


def _presence(context: Context) -> Presence:
    presence = stream_bus(context).presence
    if presence is None:
        raise RuntimeError("no presence: the app's lifespan opens it with the bus")
    return presence
