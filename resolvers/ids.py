"""Opaque Relay global IDs: base64 of "Type:pk"."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from resolvers.errors import NotFound


@lru_cache(maxsize=16_384)  # a board encodes thousands: each costs more than a lookup
def encode_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def decode_any(global_id: str) -> tuple[str, int] | None:
    """(type name, pk) for a well-formed ID, else None."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
        type_name, raw_pk = text.split(":", 1)
        pk = int(raw_pk)
    except (ValueError, UnicodeError, binascii.Error):
        return None
    if not type_name.isidentifier() or pk <= 0 or pk >= 2**31:
        return None
    return type_name, pk


def decode_id(global_id: str, type_name: str) -> int:
    """The pk of a `type_name` ID; NOT_FOUND for a malformed or foreign ID."""
    decoded = decode_any(global_id)
    if decoded is None or decoded[0] != type_name:
        raise NotFound(f"{type_name} {global_id!r} was not found")
    return decoded[1]
