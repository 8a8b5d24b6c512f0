"""Input checks shared by the mutations; each error names the field and the fix."""

from __future__ import annotations

import re

from resolvers.errors import BadUserInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

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
