"""One query or mutation, run as `Schema.execute` runs it, without its extension runner.

Strawberry's runner enters and leaves a context manager per hook and per extension on
every operation: on a simple query that costs more than executing it (issue #11's
profile). The steps of this schema's two extensions are called here directly, in
their order: publishing on the operation's bus (ContextPerOperation; an HTTP context
is the operation's own), then the guard's rate, shape and validation checks
(schema/operation_guard.py), then graphql-core's execution with the schema's executor.

What this path does not take (a subscription, a document that does not parse, an
operation name that names nothing, a schema without limits) is left to
`Schema.execute`, which answers it as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeGuard, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    specified_rules,
)
from strawberry.execution import optimized_is_awaitable

from realtime.after_commit import publishing_to
from resolvers.context import Context
from schema.compiled_query import Bail
from schema.schema import Schema

_RULES = tuple(specified_rules)  # Strawberry's default: the validation cache's key
# Strawberry's quick test, as Schema.execute passes it.
_IS_AWAITABLE = cast(Callable[[Any], TypeGuard[Awaitable[Any]]], optimized_is_awaitable)


def direct_document(schema: Schema, query: str, operation_name: str | None) -> DocumentNode | None:
    """The parsed document when this path runs the operation, else None."""
    checks = schema.checks
    document = checks.parse(query) if checks is not None else None
    if not isinstance(document, DocumentNode):
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is OperationType.SUBSCRIPTION:
        return None
    return document


async def run_direct(
    schema: Schema,
    query: str,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Context,
) -> ExecutionResult:
    """The operation's result, its errors given their codes (and logged when unexpected)."""
    checks = schema.checks
    assert checks is not None, "direct_document takes no operation without checks"
    with publishing_to(context.bus):
        try:
            refusal = await checks.rate_refusal(context)
            errors = (
                [refusal]
                if refusal is not None
                else checks.errors(schema._schema, query, document, variables, _RULES)
            )
            if errors:
                result = ExecutionResult(None, errors)
            else:
                result = await _planned(
                    schema, query, document, variables, operation_name, context
                ) or await _executed(schema, document, variables, operation_name, context)
        except Exception as error:  # as Strawberry does: an answer, not a crash
            result = ExecutionResult(None, [_coerced(error)])
    if result.errors:
        schema.process_errors(result.errors)
    return result


async def _planned(
    schema: Schema,
    query: str,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Context,
) -> ExecutionResult | None:
    """The result from the operation's compiled plan; None when graphql-core runs it."""
    plan = schema.plans.plan(schema._schema, query, document, operation_name)
    if plan is None:
        return None
    try:
        return ExecutionResult(await plan.data(context, variables), None)
    except Bail:
        return None


async def _executed(
    schema: Schema,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Context,
) -> ExecutionResult:
    executed = execute(
        schema._schema,
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        executor_class=schema.execution_context_class,
        is_awaitable=_IS_AWAITABLE,
    )
    return executed if isinstance(executed, ExecutionResult) else await executed


def _coerced(error: Exception) -> GraphQLError:
    return (
        error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)
    )
