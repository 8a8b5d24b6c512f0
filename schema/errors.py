"""Error codes on every answer, and masking of anything unexpected."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult

from resolvers.errors import AppError

logger = logging.getLogger("funnelgraph.errors")

INTERNAL_MESSAGE = "Internal server error"


def is_expected(error: GraphQLError) -> bool:
    """An error meant for the client: ours, or one graphql-core raised about the request."""
    original = error.original_error
    return original is None or isinstance(original, AppError)


def with_code(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it: a contract code, and no internals."""
    if isinstance(error.original_error, AppError):
        return error
    if error.original_error is None:
        code = (
            "BAD_USER_INPUT"
            if error.message.startswith("Variable ")
            else ("GRAPHQL_VALIDATION_FAILED")
        )
        if (error.extensions or {}).get("code"):
            return error
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={**(error.extensions or {}), "code": code},
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
    """Gives every error its extensions.code and masks unexpected exceptions."""

    def on_operation(self) -> Iterator[None]:
        yield
        _recode(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """The same for each result of a websocket operation, before it is sent."""
        _recode(result)
        yield None


def _recode(result: object) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [with_code(error) for error in errors]  # type: ignore[attr-defined]
