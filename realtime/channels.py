"""Channel names: the only place they are spelled."""

from __future__ import annotations

CAMPAIGN = "campaign"
USER = "user"
# Notice channels (realtime/notices.py): chat changes anywhere, for unread counts; and
# one per campaign for who is on it.
CHAT_NOTICES = "chat-notices"
PRESENCE = "presence"


def campaign_channel(campaign_pk: int) -> str:
    return f"{CAMPAIGN}:{campaign_pk}"


def user_channel(user_pk: int) -> str:
    return f"{USER}:{user_pk}"


def presence_channel(campaign_pk: int) -> str:
    return f"{PRESENCE}:{campaign_pk}"


def channel_kind(channel: str) -> tuple[str, int]:
    """("campaign", pk) or ("user", pk) for a channel name."""
    kind, _, pk = channel.partition(":")
    return kind, int(pk)


class ChannelGone(Exception):
    """What the channel's log belonged to was deleted (a campaign): its streams end."""
