"""The API's expected errors, each carrying its contract code in extensions.code."""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import GraphQLError


class AppError(GraphQLError):
    """An error the client is meant to read; anything else is masked."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class NotFound(AppError):
    code = "NOT_FOUND"


class BadUserInput(AppError):
    code = "BAD_USER_INPUT"


class Conflict(AppError):
    code = "CONFLICT"


class DuplicateOpportunity(AppError):
    code = "DUPLICATE_OPPORTUNITY"


def not_found(kind: str, global_id: str) -> NotFound:
    """The same answer for a missing object and one the viewer may not see."""
    return NotFound(f"{kind} {global_id!r} was not found")


class ResyncRequired(AppError):
    code = "RESYNC_REQUIRED"


class RateLimited(AppError):
    code = "RATE_LIMITED"


class ServiceUnavailable(AppError):
    """The database cannot be reached: try again shortly (HTTP 503, websocket close 1013)."""

    code = "SERVICE_UNAVAILABLE"
    retry_after_seconds: ClassVar[int] = 5

    def __init__(self, message: str = "the database is unavailable; try again shortly") -> None:
        super().__init__(message, retryAfterSeconds=self.retry_after_seconds)
