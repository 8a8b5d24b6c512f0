"""Telling users what happened: writing, listing and marking notifications."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from models import Notification, NotificationKind, Opportunity, User
from realtime.channels import user_channel
from resolvers.errors import BadUserInput
from resolvers.ids import decode_id
from resolvers.outbox import signal_after_commit
from resolvers.pagination import Page, PageArgs, paginate

NEWEST_FIRST = ("-id",)
MAX_IDS = 500


async def notify(
    kind: NotificationKind,
    recipients: Iterable[int | None],
    *,
    actor: User | None,
    card: Opportunity,
) -> None:
    """One notification per recipient, never to the actor who caused it."""
    actor_pk = actor.pk if actor else None
    # Sorted: every writer locks user rows in the same order, so none deadlock.
    unique = sorted({pk for pk in recipients if pk is not None and pk != actor_pk})
    for pk in unique:
        seq = await _next_seq(pk)
        await Notification.create(
            recipient_id=pk,
            kind=kind,
            opportunity_id=card.pk,
            campaign_id=card.campaign_id,
            actor_id=actor_pk,
            seq=seq,
        )
        signal_after_commit(user_channel(pk), seq)


async def _next_seq(user_pk: int) -> int:
    """The recipient's next notification number, gap-free in commit order."""
    user = await User.select_for_update().get(id=user_pk)
    await User.filter(id=user_pk).update(notification_seq=user.notification_seq + 1)
    return int(user.notification_seq) + 1


async def list_notifications(viewer: User, unread_only: bool, page: PageArgs) -> Page[Notification]:
    query = Notification.filter(recipient_id=viewer.pk)
    if unread_only:
        query = query.filter(read_at__isnull=True)
    return await paginate(query, page, NEWEST_FIRST)


async def mark_read(viewer: User, ids: Sequence[str] | None) -> int:
    """Marks the viewer's given (or all) unread notifications read; returns how many."""
    query = Notification.filter(recipient_id=viewer.pk, read_at__isnull=True)
    if ids is not None:
        if len(ids) > MAX_IDS:
            raise BadUserInput(f"ids: at most {MAX_IDS} at once", field="ids")
        query = query.filter(id__in=[decode_id(global_id, "Notification") for global_id in ids])
    return await query.update(read_at=datetime.now(UTC))
