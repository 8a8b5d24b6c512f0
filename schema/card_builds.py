"""Opportunity objects for a page of cards, each built by a function generated per set
of columns read.

A board builds 2,000 of them, and the dataclass constructor's sixteen keyword arguments
cost more than reading the values. A page read with some columns only
(schema/card_columns.py) holds partial cards: their objects get just the fields those
columns hold, and the page's selection reads no other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import strawberry
from strawberry.types.base import get_object_definition

from models import Opportunity as OpportunityModel
from resolvers.ids import encode_id
from schema.opportunity import Opportunity, Preloaded

CardBuild = Callable[[OpportunityModel, Preloaded], Opportunity]
_builds: dict[frozenset[str] | None, CardBuild] = {}
_SET_APART = ("id", "row", "preloaded")  # fields that are not the card's columns


def card_build(only: frozenset[str] | None) -> CardBuild:
    """Builds the object of a card read with the columns `only` (None: all of them)."""
    build = _builds.get(only)
    if build is None:
        build = _builds[only] = _compiled(only)
    return build


def _compiled(only: frozenset[str] | None) -> CardBuild:
    column_of = OpportunityModel._meta.fields_db_projection
    entries = [
        '"id": ID(encode_id("Opportunity", card.id))',
        '"row": card',
        '"preloaded": preloaded',
    ]
    # Each attribute field is the card's column of the same name (as in from_model).
    for field in get_object_definition(Opportunity, strict=True).fields:
        name = field.python_name
        if field.base_resolver is not None or name in _SET_APART:
            continue
        if only is None or column_of[name] in only:
            entries.append(f"{name!r}: card.{name}")
    source = (
        "def build(card, preloaded):\n"
        "    made = new(Opportunity)\n"
        f"    made.__dict__.update({{{', '.join(entries)}}})\n"
        "    return made\n"
    )
    names: dict[str, Any] = {
        "new": object.__new__,
        "Opportunity": Opportunity,
        "ID": strawberry.ID,
        "encode_id": encode_id,
    }
    exec(compile(source, "<card build>", "exec"), names)
    return cast(CardBuild, names["build"])
