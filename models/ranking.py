"""Fractional indexes: string keys that sort as bytes and always fit between two others.

A key is an integer part (a head letter giving its length, then base-62 digits)
and a fraction with no trailing zero, as in the well-known fractional-indexing
scheme, so appending at either end keeps keys short.
"""

from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ZERO = DIGITS[0]
SMALLEST_INTEGER = "A" + ZERO * 26


class RankError(ValueError):
    """A key is malformed or the bounds are out of order."""


def key_between(before: str | None, after: str | None) -> str:
    """A key sorting strictly after `before` and strictly before `after` (None: open end)."""
    for key in (before, after):
        if key is not None:
            _validate(key)
    if before is not None and after is not None and before >= after:
        raise RankError(f"{before!r} is not before {after!r}")
    if before is None:
        if after is None:
            return "a" + ZERO
        integer = _integer_part(after)
        if integer == SMALLEST_INTEGER:
            return integer + _midpoint("", after[len(integer) :])
        if integer < after:
            return integer
        smaller = _decrement(integer)
        if smaller is None:
            raise RankError("no key sorts before the smallest key")
        return smaller
    integer = _integer_part(before)
    fraction = before[len(integer) :]
    if after is None:
        larger = _increment(integer)
        return integer + _midpoint(fraction, None) if larger is None else larger
    if integer == _integer_part(after):
        return integer + _midpoint(fraction, after[len(integer) :])
    larger = _increment(integer)
    if larger is not None and larger < after:
        return larger
    return integer + _midpoint(fraction, None)


def keys_after(before: str | None, count: int) -> list[str]:
    """`count` increasing keys, all after `before`."""
    keys: list[str] = []
    last = before
    for _ in range(count):
        last = key_between(last, None)
        keys.append(last)
    return keys


def keys_between(before: str | None, after: str | None, count: int) -> list[str]:
    """`count` increasing keys strictly between `before` and `after` (None: open end),
    by halving: 500 cards dropped into one gap get keys a few characters longer, not 500."""
    if count <= 0:
        return []
    middle = key_between(before, after)
    half = (count - 1) // 2
    return [
        *keys_between(before, middle, half),
        middle,
        *keys_between(middle, after, count - 1 - half),
    ]


def _midpoint(low: str, high: str | None) -> str:
    if high is not None:
        shared = 0
        while (low[shared] if shared < len(low) else ZERO) == high[shared]:
            shared += 1
        if shared:
            return high[:shared] + _midpoint(low[shared:], high[shared:])
    digit_low = DIGITS.index(low[0]) if low else 0
    digit_high = DIGITS.index(high[0]) if high is not None else len(DIGITS)
    if digit_high - digit_low > 1:
        return DIGITS[(digit_low + digit_high + 1) // 2]
    if high is not None and len(high) > 1:
        return high[:1]
    return DIGITS[digit_low] + _midpoint(low[1:], None)


def _integer_length(head: str) -> int:
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise RankError(f"invalid rank head {head!r}")


def _integer_part(key: str) -> str:
    length = _integer_length(key[0])
    if length > len(key):
        raise RankError(f"invalid rank {key!r}")
    return key[:length]


def _validate(key: str) -> None:
    if not key or key == SMALLEST_INTEGER:
        raise RankError(f"invalid rank {key!r}")
    if any(char not in DIGITS for char in key):
        raise RankError(f"invalid rank {key!r}")
    fraction = key[len(_integer_part(key)) :]
    if fraction.endswith(ZERO):
        raise RankError(f"invalid rank {key!r}")


def _increment(integer: str) -> str | None:
    head, digits = integer[0], list(integer[1:])
    for index in reversed(range(len(digits))):
        value = DIGITS.index(digits[index]) + 1
        if value < len(DIGITS):
            digits[index] = DIGITS[value]
            return head + "".join(digits)
        digits[index] = ZERO
    if head == "Z":
        return "a" + ZERO
    if head == "z":
        return None
    new_head = chr(ord(head) + 1)
    if new_head > "a":
        digits.append(ZERO)
    else:
        digits.pop()
    return new_head + "".join(digits)


def _decrement(integer: str) -> str | None:
    head, digits = integer[0], list(integer[1:])
    for index in reversed(range(len(digits))):
        value = DIGITS.index(digits[index]) - 1
        if value >= 0:
            digits[index] = DIGITS[value]
            return head + "".join(digits)
        digits[index] = DIGITS[-1]
    if head == "a":
        return "Z" + DIGITS[-1]
    if head == "A":
        return None
    new_head = chr(ord(head) - 1)
    if new_head < "Z":
        digits.append(DIGITS[-1])
    else:
        digits.pop()
    return new_head + "".join(digits)
