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
from typing import Any, NamedTuple, TypeGuard, cast

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


class Operation(NamedTuple):  # one per request: a tuple is the cheapest to make
    """One operation of a request, its text parsed."""

    query: str
    document: DocumentNode
    variables: dict[str, Any] | None
    name: str | None  # as the request gave it
    type: OperationType
    declared: str | None  # the name the document gives it (logs and metrics name it so)


def direct_operation(
    schema: Schema, query: str, variables: dict[str, Any] | None, name: str | None
) -> Operation | None:
    """The operation when this path runs it, else None."""
    found = parsed(schema, query, variables, name)
    if found is None or found[1] is OperationType.SUBSCRIPTION:
        return None
    return found[0]


def parsed(
    schema: Schema, query: str, variables: dict[str, Any] | None, name: str | None
) -> tuple[Operation, OperationType] | None:
    """The operation and its type, when the text parses (with the schema's checks) and
    names one; else None (Strawberry answers it)."""
    checks = schema.checks
    document = checks.parse(query) if checks is not None else None
    if not isinstance(document, DocumentNode):
        return None
    operation = get_operation_ast(document, name)
    if operation is None:
        return None
    declared = operation.name.value if operation.name else None
    return (
        Operation(query, document, variables, name, operation.operation, declared),
        operation.operation,
    )


async def run_direct(schema: Schema, operation: Operation, context: Context) -> ExecutionResult:
    """The operation's result, its errors given their codes (and logged when unexpected)."""
    checks = schema.checks
    assert checks is not None, "direct_operation takes no operation without checks"
    with publishing_to(context.bus):
        try:
            errors = await refusals(schema, operation, context)
            if errors:
                result = ExecutionResult(None, errors)
            else:
                result = await _planned(schema, operation, context) or await by_graphql_core(
                    schema, operation, context
                )
        except Exception as error:  # as Strawberry does: an answer, not a crash
            result = ExecutionResult(None, [coerced(error)])
    if result.errors:
        schema.process_errors(result.errors)
    return result


async def refusals(schema: Schema, operation: Operation, context: Context) -> list[GraphQLError]:
    """The guard's checks, in its order (schema/operation_guard.py): the caller's rate,
    then the operation's shape and GraphQL's validation. Empty: it may run."""
    checks = schema.checks
    assert checks is not None, "these paths take no operation without checks"
    refusal = await checks.rate_refusal(context)
    if refusal is not None:
        return [refusal]
    return checks.errors(
        schema._schema, operation.query, operation.document, operation.variables, _RULES
    )


async def _planned(
    schema: Schema, operation: Operation, context: Context
) -> ExecutionResult | None:
    """The result from the operation's compiled plan; None when graphql-core runs it."""
    plan = schema.plans.plan(schema._schema, operation.query, operation.document, operation.name)
    if plan is None:
        return None
    try:
        return ExecutionResult(await plan.data(context, operation.variables), None)
    except Bail:
        return None


async def by_graphql_core(
    schema: Schema, operation: Operation, context: Context
) -> ExecutionResult:
    """The result of graphql-core's execution with the schema's executor."""
    executed = execute(
        schema._schema,
        operation.document,
        context_value=context,
        variable_values=operation.variables,
        operation_name=operation.name,
        executor_class=schema.execution_context_class,
        is_awaitable=_IS_AWAITABLE,
    )
    return executed if isinstance(executed, ExecutionResult) else await executed


def coerced(error: Exception) -> GraphQLError:
    return (
        error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)
    )
