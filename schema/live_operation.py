"""A subscription over a websocket, run as `Schema.stream` runs it, holding less.

Strawberry's stream keeps, for a subscription's whole life, its extension runner and
execution context, and graphql-core's executor with its caches and the closures that
map each event: some 12 KiB per subscription, most of them waiting for an event
their group's first subscriber executes (schema/live_delivery.py). Here a live
subscription holds its parsed operation, its context and its source stream; an
executor is built for an event only when this subscriber executes it.

The steps of the schema's extensions are called directly, in their order, as on the
direct POST path (schema/direct_operation.py): a context of the operation's own
(ContextPerOperation), publishing on its bus, then the guard's rate, shape and
validation checks. The answers are Strawberry's: a refusal or a failure to start is
a PreExecutionError (the socket's `error` message), an event's result or an error
raised by the stream is a result (its `next` message); errors get their codes.

What this path does not take (a query or mutation, a document that does not parse,
an operation name that names nothing, a schema without limits) is left to
`Schema.stream`, which answers it as before.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterable
from inspect import isawaitable
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, OperationType
from graphql.execution import Executor, create_source_event_stream
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from realtime.after_commit import publishing_to
from resolvers.context import Context
from schema.direct_operation import Operation, coerced, parsed, refusals
from schema.observed import report
from schema.operation_context import operation_context
from schema.schema import Schema


def live_operation(
    schema: Schema, query: str, variables: dict[str, Any] | None, name: str | None
) -> Operation | None:
    """The operation when this path runs it (a subscription), else None."""
    found = parsed(schema, query, variables, name)
    if found is None or found[1] is not OperationType.SUBSCRIPTION:
        return None
    return found[0]._replace(query=_shared_text(query))


# One copy of each subscription's text, for all the subscriptions that send it.
_texts: dict[str, str] = {}
_TEXTS_KEPT = 1024


def _shared_text(query: str) -> str:
    if len(_texts) >= _TEXTS_KEPT and query not in _texts:
        _texts.clear()
    return _texts.setdefault(query, query)


async def live_results(
    schema: Schema, live: Operation, connection: Context
) -> AsyncGenerator[ExecutionResult, None]:
    """The subscription's answers, as `Schema.stream` yields them; once it ends, its
    outcome goes to the schema's observer (its duration: the subscription's life)."""
    context = operation_context(connection)
    began, errors = time.perf_counter(), None
    try:
        with publishing_to(context.bus):
            started = await _started(schema, live, context)
            if isinstance(started, list):
                refused = _refused(schema, started)
                errors = refused.errors
                yield refused
                return
            try:
                async with aclosing(started):
                    async for payload in started:
                        yield _answer(schema, await _executed(schema, live, context, payload))
            except Exception as error:  # as Strawberry does: the stream's last answer
                last = _answer(schema, GraphQLExecutionResult(None, [coerced(error)]))
                errors = last.errors
                yield last
    finally:
        report(schema.observer, "subscription", live.declared, errors, began, context)


async def _started(
    schema: Schema, live: Operation, context: Context
) -> AsyncIterable[Any] | list[GraphQLError]:
    """The operation's source stream, else why it did not start."""
    errors = await refusals(schema, live, context)
    if errors:
        return errors
    executor = _executor(schema, live, context)
    if isinstance(executor, list):
        return executor
    stream = create_source_event_stream(executor)
    source = await stream if isawaitable(stream) else stream
    if isinstance(source, GraphQLExecutionResult):
        return list(source.errors or ())
    return source


async def _executed(
    schema: Schema, live: Operation, context: Context, payload: Any
) -> GraphQLExecutionResult:
    """One event's result, from an executor built for it alone."""
    executor = _executor(schema, live, context)
    assert not isinstance(executor, list), "its variables were accepted at the start"
    executed = executor.build_per_event_executor(payload).execute_operation(False)
    result = await executed if isawaitable(executed) else executed
    assert isinstance(result, GraphQLExecutionResult)
    return result


def _executor(
    schema: Schema, live: Operation, context: Context
) -> Executor[Any] | list[GraphQLError]:
    executor_class = schema.execution_context_class
    assert executor_class is not None and issubclass(executor_class, Executor)
    return executor_class.build(
        schema._schema, live.document, None, context, live.variables, live.name
    )


def _refused(schema: Schema, errors: list[GraphQLError]) -> PreExecutionError:
    schema.process_errors(errors)
    return PreExecutionError(data=None, errors=errors)


def _answer(schema: Schema, result: GraphQLExecutionResult) -> ExecutionResult:
    errors = list(result.errors) if result.errors else None
    if errors:
        schema.process_errors(errors)
    return ExecutionResult(data=result.data, errors=errors)
