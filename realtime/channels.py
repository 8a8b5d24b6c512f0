"""Channel names: the only place they are spelled."""

from __future__ import annotations

# What every Redis key and pub/sub channel of a deployment starts with (REDIS_PREFIX):
# deployments that share a Redis database keep apart by giving each its own. Names here
# are the process's own; the Redis-facing classes add the prefix.
DEFAULT_REDIS_PREFIX = "funnelgraph:"

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
