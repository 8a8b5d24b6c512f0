"""Amounts summed exactly: every amount is stored to the cent, so a sum of amounts is a
whole number of cents, and a weighted sum (amount x probability in percent) a whole number
of cents x percent. Both databases then give the same figures; SQLite keeps decimals as
text and 64-bit integers, so its rows are summed here (`cents_of`)."""

from __future__ import annotations

from decimal import Decimal

_HUNDRED = Decimal(100)


def cents_of(stored: object) -> int:
    """The cents of an amount as the driver returns it (a Decimal, or SQLite's text)."""
    return 0 if stored is None else int(Decimal(str(stored)) * _HUNDRED)


def amount(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def weighted_amount(cents_percent: int) -> Decimal:
    """A sum of cents x percent as an amount: exact, with the decimals it needs and at
    least two."""
    exact = Decimal(cents_percent).scaleb(-4)
    for places in (2, 3):
        rounded = exact.quantize(Decimal(1).scaleb(-places))
        if rounded == exact:
            return rounded
    return exact
