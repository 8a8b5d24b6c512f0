"""Input checks shared by the mutations and the schema's check of every argument; each
error names the field and the fix."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from resolvers.errors import BadUserInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# PostgreSQL's text refuses NUL, and UTF-8 cannot encode a lone surrogate (which JSON
# can send, as "\ud800"): neither database stores these characters.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
MAX_AMOUNT = Decimal("99999999999999.99")
CENT = Decimal("0.01")

# The longest text each input field takes, by its GraphQL name; any other string input
# takes DEFAULT_TEXT_LIMIT. The schema refuses longer input before a resolver runs.
TEXT_LIMITS = {
    "name": 200,
    "code": 64,
    "description": 10_000,
    "stages": 200,
    "email": 254,
    "password": 1024,
    "phone": 50,
    "content": 20_000,
    "title": 500,
    "note": 4000,
    "orderNote": 4000,
    "reason": 4000,
    "body": 4000,
    "search": 200,
}
DEFAULT_TEXT_LIMIT = 1000


def text_limit(field: str) -> int:
    return TEXT_LIMITS.get(field, DEFAULT_TEXT_LIMIT)


def clean_text(value: str, field: str) -> str:
    """The value stripped; BAD_USER_INPUT when blank or too long."""
    text = value.strip()
    if not text:
        raise BadUserInput(f"{field} must not be blank", field=field)
    limit = text_limit(field)
    if len(text) > limit:
        raise BadUserInput(f"{field} must be at most {limit} characters", field=field)
    return text


def clean_optional_text(value: str | None, field: str) -> str | None:
    """None for a missing or blank value, else as clean_text."""
    if value is None or not value.strip():
        return None
    return clean_text(value, field)


def clean_email(value: str, field: str) -> str:
    email = value.strip().lower()
    if len(email) > text_limit("email") or not _EMAIL.match(email):
        raise BadUserInput(f"{field} {value!r} is not an email address", field=field)
    return email


def check_probability(value: int, field: str = "probability") -> int:
    if not 0 <= value <= 100:
        raise BadUserInput(f"{field} must be between 0 and 100, got {value}", field=field)
    return value


def check_storable_text(value: str, field: str) -> None:
    """BAD_USER_INPUT when the value holds a character no database stores."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return
    character = found.group()
    if character == "\x00":
        raise BadUserInput(f"{field} contains a NUL character (U+0000): remove it", field=field)
    raise BadUserInput(
        f"{field} contains an unpaired surrogate (U+{ord(character):04X}), which is not "
        "Unicode text: send the whole character (both halves of its pair) or remove it",
        field=field,
    )


def check_moment(moment: datetime, field: str) -> None:
    """BAD_USER_INPUT when the moment is outside what the databases store: years 1 to
    9999 in UTC. A moment without an offset is stored as UTC."""
    if moment.tzinfo is not None:
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise moment_out_of_range(field) from None


def utc_moment(moment: datetime, field: str) -> datetime:
    """The moment in UTC (one without an offset is taken as UTC), or BAD_USER_INPUT as
    `check_moment`."""
    check_moment(moment, field)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def moment_out_of_range(field: str) -> BadUserInput:
    return BadUserInput(
        f"{field} must be between {EARLIEST.isoformat()} and {LATEST.isoformat()} "
        "once converted to UTC",
        field=field,
    )


def clean_amount(amount: Decimal, field: str = "amount") -> Decimal:
    """The amount rounded to the cent as its column keeps it, half away from zero (as
    PostgreSQL rounds); BAD_USER_INPUT unless that is between 0 and MAX_AMOUNT."""
    # NaN and infinities first (comparing a signalling NaN raises); and no quantizing of
    # an exponent far out of range, which would exceed the context's precision.
    if amount.is_finite() and amount.copy_abs() <= MAX_AMOUNT + 1:
        cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
        if Decimal(0) <= cents <= MAX_AMOUNT:
            return abs(cents)  # -0.004 rounds to -0.00, which the databases keep as 0.00
    raise BadUserInput(
        f"{field} must be between 0 and {MAX_AMOUNT} once rounded to the cent", field=field
    )


def clean_optional_amount(amount: Decimal | None, field: str = "amount") -> Decimal | None:
    return None if amount is None else clean_amount(amount, field)
