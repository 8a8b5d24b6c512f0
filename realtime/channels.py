"""Channel names: the only place they are spelled."""

from __future__ import annotations


def campaign_channel(campaign_pk: int) -> str:
    return f"campaign:{campaign_pk}"


def user_channel(user_pk: int) -> str:
    return f"user:{user_pk}"
