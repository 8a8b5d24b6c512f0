"""Input checks shared by the mutations; each error names the field and the fix."""

from __future__ import annotations

import re

from resolvers.errors import BadUserInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_text(value: str, field: str, *, max_length: int) -> str:
    """The value stripped; BAD_USER_INPUT when blank or too long."""
    text = value.strip()
    if not text:
        raise BadUserInput(f"{field} must not be blank", field=field)
    if len(text) > max_length:
        raise BadUserInput(f"{field} must be at most {max_length} characters", field=field)
    return text


def clean_optional_text(value: str | None, field: str, *, max_length: int) -> str | None:
    """None for a missing or blank value, else as clean_text."""
    if value is None or not value.strip():
        return None
    return clean_text(value, field, max_length=max_length)


def clean_email(value: str, field: str) -> str:
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise BadUserInput(f"{field} {value!r} is not an email address", field=field)
    return email


def check_probability(value: int, field: str = "probability") -> int:
    if not 0 <= value <= 100:
        raise BadUserInput(f"{field} must be between 0 and 100, got {value}", field=field)
    return value
