"""In-campaign chat: posting (with mentions), editing, deleting, marking read, and
reading the history backwards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from tortoise import timezone

from models import Campaign, CampaignMember, ChatMessage, EventKind, User
from resolvers import chat_counts, retry_keys
from resolvers.errors import BadUserInput, Forbidden
from resolvers.event_cursors import decode_event_cursor
from resolvers.ids import decode_any
from resolvers.notifications import notify_mentioned
from resolvers.validation import text_limit
from resolvers.writes import campaign_write, log_event

DEFAULT_HISTORY = 50
MAX_HISTORY = 200
MAX_MENTIONS = 50
MENTION_RULE = "mentionIds: each must be the campaign's manager or one of its participants"


async def post_message(
    campaign: Campaign, author: User, body: str, mention_ids: Sequence[str] = ()
) -> ChatMessage:
    """A message in the campaign's chat, logged as its next event; each user it mentions
    is told, in the same transaction."""
    _check_body(body)
    if len(mention_ids) > MAX_MENTIONS:
        raise BadUserInput(f"mentionIds: at most {MAX_MENTIONS}", field="mentionIds")
    async with campaign_write(campaign.pk) as locked:
        mentioned = await _members_named(locked, mention_ids)
        # The message carries the seq its event is about to take (the row is locked).
        message = await ChatMessage.create(
            campaign_id=locked.pk,
            author_id=author.pk,
            body=body,
            seq=locked.event_seq + 1,
            mention_ids=mentioned,
        )
        await log_event(locked, EventKind.CHAT_MESSAGE_POSTED, author, message_id=message.pk)
        notify_mentioned(mentioned, actor=author, message=message)
        retry_keys.remember(ChatMessage=message.pk)
    return message


async def edit_message(message: ChatMessage, editor: User, body: str) -> ChatMessage:
    """The author's new body; logged as ChatMessageEdited (nothing when it is the same)."""
    _check_body(body)
    if message.author_id != editor.pk:
        raise Forbidden("only its author may edit a message")
    async with campaign_write(message.campaign_id) as locked:
        current = await ChatMessage.get(id=message.pk)  # the campaign's lock guards it
        if current.deleted_at is not None:
            raise BadUserInput("the message was deleted", field="id")
        if current.body == body:
            return current
        current.body, current.edited_at = body, timezone.now()
        await current.save(update_fields=["body", "edited_at"])
        await log_event(locked, EventKind.CHAT_MESSAGE_EDITED, editor, message_id=current.pk)
    return current


async def delete_message(message: ChatMessage, campaign: Campaign, actor: User) -> ChatMessage:
    """The message emptied and marked deleted, by its author or the campaign's manager:
    the row stays, so history and cursors stay whole. Deleting twice changes nothing."""
    if actor.pk not in (message.author_id, campaign.manager_id):
        raise Forbidden("only its author or the campaign's manager may delete a message")
    async with campaign_write(message.campaign_id) as locked:
        current = await ChatMessage.get(id=message.pk)  # the campaign's lock guards it
        if current.deleted_at is not None:
            return current
        current.body, current.mention_ids, current.deleted_at = "", [], timezone.now()
        await current.save(update_fields=["body", "mention_ids", "deleted_at"])
        await log_event(locked, EventKind.CHAT_MESSAGE_DELETED, actor, message_id=current.pk)
    return current


async def mark_read(campaign: Campaign, viewer: User, up_to: str) -> None:
    """Moves the viewer's read marker up to the message at cursor `up_to`."""
    seq = decode_event_cursor(up_to, campaign.pk, "upTo")
    if not await ChatMessage.exists(campaign_id=campaign.pk, seq=seq):
        raise BadUserInput("'upTo' is not the cursor of a message of this chat", argument="upTo")
    await chat_counts.move_marker(viewer, campaign.pk, seq)


async def history(
    campaign: Campaign, last: int | None, before: str | None
) -> tuple[list[ChatMessage], bool]:
    """The newest `last` messages before the cursor, oldest first; and whether older exist."""
    count = DEFAULT_HISTORY if last is None else last
    if not 0 <= count <= MAX_HISTORY:
        raise BadUserInput(f"'last' must be between 0 and {MAX_HISTORY}, got {last}")
    query = ChatMessage.filter(campaign_id=campaign.pk)
    if before is not None:
        query = query.filter(seq__lt=decode_event_cursor(before, campaign.pk, "before"))
    rows = list(await query.order_by("-seq").limit(count + 1))
    return list(reversed(rows[:count])), len(rows) > count


def _check_body(body: str) -> None:
    if not body.strip():
        raise BadUserInput("body must not be blank", field="body")
    if len(body) > text_limit("body"):
        raise BadUserInput(f"body must be at most {text_limit('body')} characters", field="body")


async def _members_named(campaign: Campaign, mention_ids: Sequence[str]) -> list[int]:
    """The users the IDs name, in order and once each; all must be the locked campaign's
    manager or participants. The refusal is the same whether or not a user exists."""
    pks: list[int] = []
    for global_id in mention_ids:
        decoded = decode_any(global_id)
        if decoded is None or decoded[0] != "User":
            raise BadUserInput(MENTION_RULE, field="mentionIds")
        pks.append(decoded[1])
    pks = list(dict.fromkeys(pks))
    if not pks:
        return []
    found = await CampaignMember.filter(campaign_id=campaign.pk, user_id__in=pks).values_list(
        "user_id", flat=True
    )
    members = set(cast("list[int]", found))
    if any(pk != campaign.manager_id and pk not in members for pk in pks):
        raise BadUserInput(MENTION_RULE, field="mentionIds")
    return pks
