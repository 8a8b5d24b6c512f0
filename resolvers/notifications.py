"""Telling users what happened: writing, listing and marking notifications."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from tortoise.expressions import F

from models import ChatMessage, Notification, NotificationKind, Opportunity, User
from realtime.after_commit import queue_until_commit, signal_after_commit
from realtime.channels import user_channel
from resolvers.errors import BadUserInput
from resolvers.ids import decode_id
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
    """One notification per recipient, never to the actor who caused it.

    They are written just before commit, so each recipient's row is locked once,
    in recipient order, by every transaction: no two writers deadlock.
    """
    _queue(kind, recipients, actor, opportunity_id=card.pk, campaign_id=card.campaign_id)


def notify_mentioned(recipients: Iterable[int], *, actor: User, message: ChatMessage) -> None:
    """A MENTIONED notification with the message to each user it mentions (not its author)."""
    _queue(
        NotificationKind.MENTIONED,
        recipients,
        actor,
        campaign_id=message.campaign_id,
        chat_message_id=message.pk,
    )


def notify_about_campaign(kind: NotificationKind, recipient: int, campaign_pk: int) -> None:
    """A notification about the campaign itself, caused by nobody (a background job)."""
    _queue(kind, [recipient], None, campaign_id=campaign_pk)


def _queue(
    kind: NotificationKind,
    recipients: Iterable[int | None],
    actor: User | None,
    **about: int,
) -> None:
    actor_pk = actor.pk if actor else None
    queued: list[Notification] = queue_until_commit("notifications", _write_queued)
    queued += [
        Notification(recipient_id=pk, kind=kind, actor_id=actor_pk, **about)
        for pk in dict.fromkeys(recipients)
        if pk is not None and pk != actor_pk
    ]


async def _write_queued(queued: list[Notification]) -> None:
    for row in sorted(queued, key=lambda row: row.recipient_id):
        # A plain UPDATE takes a no-key lock, which foreign-key checks do not wait on.
        await User.filter(id=row.recipient_id).update(notification_seq=F("notification_seq") + 1)
        row.seq = (
            await User.filter(id=row.recipient_id)
            .first()
            .values_list("notification_seq", flat=True)
        )
        await row.save()
        signal_after_commit(user_channel(row.recipient_id), row.seq)


async def list_notifications(viewer: User, unread_only: bool, page: PageArgs) -> Page[Notification]:
    query = Notification.filter(recipient_id=viewer.pk)
    if unread_only:
        query = query.filter(read_at__isnull=True)
    return await paginate(query, page, NEWEST_FIRST)


async def notification_of(viewer: User, pk: int) -> Notification | None:
    """One of the viewer's own notifications (None for anyone else's)."""
    return await Notification.get_or_none(id=pk, recipient_id=viewer.pk)


async def mark_read(viewer: User, ids: Sequence[str] | None) -> int:
    """Marks the viewer's given (or all) unread notifications read; returns how many."""
    query = Notification.filter(recipient_id=viewer.pk, read_at__isnull=True)
    if ids is not None:
        if len(ids) > MAX_IDS:
            raise BadUserInput(f"ids: at most {MAX_IDS} at once", field="ids")
        query = query.filter(id__in=[decode_id(global_id, "Notification") for global_id in ids])
    return await query.update(read_at=datetime.now(UTC))
