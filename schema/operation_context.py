"""A context of its own for every operation, also on a shared websocket."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from realtime.after_commit import publishing_to
from resolvers.context import Context


def operation_context(connection: Context) -> Context:
    """Over a websocket Strawberry hands every operation the connection's one context:
    its loaders would cache rows for the socket's lifetime and be shared by concurrent
    streams. Each operation gets a copy with fresh loaders (same viewer and socket)."""
    if connection.connection_params is None:
        return connection  # an HTTP request's: the operation's own
    return dataclasses.replace(connection)


class ContextPerOperation(SchemaExtension):
    """`operation_context` for every operation Strawberry runs; what the operation
    commits signals on its context's bus."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            context = self.execution_context.context = operation_context(context)
        bus = context.bus if isinstance(context, Context) else None
        with publishing_to(bus):
            yield
