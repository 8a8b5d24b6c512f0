"""A card's row read with its campaign's, in one statement: `o.*` and the campaign `c`'s
columns under a prefix, and the two model instances built from such a row."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from models import Campaign, Opportunity, raw_sql

_CAMPAIGN_PREFIX = "campaign__"


@cache
def card_and_campaign_columns() -> str:
    """The select list: the card `o` and its campaign `c` (built on first use: the ORM
    knows its foreign key columns once it is started)."""
    return f"o.*, {raw_sql.columns(Campaign, 'c', _CAMPAIGN_PREFIX)}"


def card_of(row: Mapping[str, Any]) -> Opportunity:
    return raw_sql.builder(Opportunity)(row)


def campaign_of(row: Mapping[str, Any]) -> Campaign:
    return raw_sql.builder(Campaign, _CAMPAIGN_PREFIX)(row)


def campaign_pk_of(row: Mapping[str, Any]) -> int:
    return int(row[_CAMPAIGN_PREFIX + "id"])
