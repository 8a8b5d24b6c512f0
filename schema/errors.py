"""Error codes on every answer, and masking of anything unexpected."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult

from resolvers.errors import AppError

logger = logging.getLogger("funnelgraph.errors")

INTERNAL_MESSAGE = "Internal server error"
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def is_expected(error: GraphQLError) -> bool:
    """An error meant for the client: ours, or one graphql-core raised about the request."""
    original = error.original_error
    return original is None or isinstance(original, AppError)


def with_code(error: GraphQLError, *, hide_suggestions: bool = False) -> GraphQLError:
    """The error as the client sees it: a contract code, and no internals."""
    if isinstance(error.original_error, AppError):
        return error
    if error.original_error is None:
        code = (
            "BAD_USER_INPUT"
            if error.message.startswith("Variable ")
            else ("GRAPHQL_VALIDATION_FAILED")
        )
        message = _SUGGESTION.sub("", error.message) if hide_suggestions else error.message
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


def log_unexpected(errors: list[GraphQLError]) -> None:
    for error in errors:
        if not is_expected(error):
            original = error.original_error
            logger.error(
                "unexpected error at %s",
                error.path,
                exc_info=(type(original), original, original.__traceback__) if original else None,
            )


class ErrorCodes(SchemaExtension):
    """Gives every error its extensions.code and masks unexpected exceptions; with
    `hide_suggestions` (production), drops graphql-core's "Did you mean ...?" hints,
    which would spell out the schema to a client that may not introspect it."""

    def __init__(self, *, hide_suggestions: bool = False) -> None:
        self.hide_suggestions = hide_suggestions

    def on_operation(self) -> Iterator[None]:
        yield
        self._recode(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """The same for each result of a websocket operation, before it is sent."""
        self._recode(result)
        yield None

    def _recode(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [  # type: ignore[attr-defined]
                with_code(error, hide_suggestions=self.hide_suggestions) for error in errors
            ]
