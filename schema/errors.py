"""Error codes on every answer, and masking of anything unexpected."""

from __future__ import annotations

import logging
import re

from graphql import GraphQLError

from models.database import is_unreachable
from resolvers.errors import AppError, ServiceUnavailable

logger = logging.getLogger("funnelgraph.errors")

INTERNAL_MESSAGE = "Internal server error"
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")
_PARSER_DETAIL = re.compile(r'(Value cannot represent an? \w+: ".*"\.) [^\n]*$')


def is_expected(error: GraphQLError) -> bool:
    """An error meant for the client: ours, or one graphql-core or a scalar raised about
    the request (a variable it could not coerce wraps the scalar's GraphQLError)."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError)


def with_code(error: GraphQLError, *, production: bool = False) -> GraphQLError:
    """The error as the client sees it: a contract code, and no internals."""
    if isinstance(error.original_error, AppError):
        return error
    if is_unreachable(error.original_error):
        unavailable = ServiceUnavailable()
        return GraphQLError(
            unavailable.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions=unavailable.extensions,
        )
    if is_expected(error):
        code = (
            "BAD_USER_INPUT"
            if error.message.startswith("Variable ")
            else ("GRAPHQL_VALIDATION_FAILED")
        )
        message = _production_message(error) if production else error.message
        if (error.extensions or {}).get("code") and message == error.message:
            return error
        return GraphQLError(
            message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": code, **(error.extensions or {})},
        )
    return GraphQLError(
        INTERNAL_MESSAGE,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


def _production_message(error: GraphQLError) -> str:
    """The message without graphql-core's suggestions (they spell out the schema) and
    without the text of the exception a scalar's parser raised, which Strawberry appends
    to its own words ("month must be in 1..12")."""
    return _PARSER_DETAIL.sub(r"\1", _SUGGESTION.sub("", error.message))


def log_unexpected(errors: list[GraphQLError]) -> None:
    for error in errors:
        if is_unreachable(error.original_error):
            logger.warning("database out of reach at %s: %s", error.path, error.original_error)
        elif not is_expected(error):
            original = error.original_error
            logger.error(
                "unexpected error at %s",
                error.path,
                exc_info=(type(original), original, original.__traceback__) if original else None,
            )


def answer_errors(errors: list[GraphQLError], *, production: bool) -> None:
    """Logs the unexpected errors with their trace, then rewrites the list in place as
    the client sees it. Strawberry hands every error list of every answer (HTTP and
    websocket, pre-execution included) to Schema.process_errors, which calls this."""
    log_unexpected(errors)
    errors[:] = [with_code(error, production=production) for error in errors]
