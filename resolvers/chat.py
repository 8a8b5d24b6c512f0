"""In-campaign chat: posting a message and reading the history backwards."""

from __future__ import annotations

from models import Campaign, ChatMessage, EventKind, User
from resolvers import retry_keys
from resolvers.errors import BadUserInput
from resolvers.event_cursors import decode_event_cursor
from resolvers.validation import text_limit
from resolvers.writes import campaign_write, log_event

DEFAULT_HISTORY = 50
MAX_HISTORY = 200


async def post_message(campaign: Campaign, author: User, body: str) -> ChatMessage:
    """A message in the campaign's chat, logged as its next event."""
    if not body.strip():
        raise BadUserInput("body must not be blank", field="body")
    if len(body) > text_limit("body"):
        raise BadUserInput(f"body must be at most {text_limit('body')} characters", field="body")
    async with campaign_write(campaign.pk) as locked:
        # The message carries the seq its event is about to take (the row is locked).
        message = await ChatMessage.create(
            campaign_id=locked.pk, author_id=author.pk, body=body, seq=locked.event_seq + 1
        )
        await log_event(locked, EventKind.CHAT_MESSAGE_POSTED, author, message_id=message.pk)
        retry_keys.remember(ChatMessage=message.pk)
    return message


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
