"""Every operation, once answered, told to the server's observer (metrics, the
operation log and traces: server/observer.py): its type, name, outcome code, duration
and viewer.

The direct path (server/direct_post.py) and live subscriptions (schema/live_operation.py)
report their operations themselves; everything else Strawberry runs (GET, other
bodies, a query or mutation over the websocket) goes through `Observed`. A
subscription is reported when it ends, its duration being its life.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.context import Context
from schema.errors import with_code

OK = "OK"


class Outcome(NamedTuple):  # one per operation: a tuple is the cheapest to make
    type: str  # query, mutation or subscription; "unknown" when the document did not parse
    name: str | None  # the operation's name, as the client gave it
    code: str  # OK, or the first error's extensions.code
    seconds: float
    viewer_pk: int | None


Observer = Callable[[Outcome], None]


def code_of(errors: Sequence[GraphQLError] | None) -> str:
    """OK, or the contract code of the first error (coded as the client sees it)."""
    if not errors:
        return OK
    extensions = errors[0].extensions or {}
    code = extensions.get("code") or (with_code(errors[0]).extensions or {}).get("code")
    return str(code or "INTERNAL_SERVER_ERROR")


def viewer_pk(context: object) -> int | None:
    viewer = context.viewer if isinstance(context, Context) else None
    return viewer.pk if viewer is not None else None


def report(
    observer: Observer | None,
    kind: str,
    name: str | None,
    errors: Sequence[GraphQLError] | None,
    started: float,
    context: object,
) -> None:
    """Tells `observer` (if any) how an operation begun at `started` (perf_counter) went."""
    if observer is not None:
        seconds = time.perf_counter() - started
        observer(Outcome(kind, name, code_of(errors), seconds, viewer_pk(context)))


def observed(observer: Observer) -> type[SchemaExtension]:
    """The extension reporting each operation Strawberry runs to `observer`."""

    class Observed(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            started = time.perf_counter()
            yield
            execution = self.execution_context
            try:
                kind = execution.operation_type.value
            except RuntimeError:  # no document, or one that does not parse
                kind = "unknown"
            result = execution.result
            errors = execution.pre_execution_errors or (result.errors if result else None)
            report(observer, kind, execution.operation_name, errors, started, execution.context)

    return Observed
