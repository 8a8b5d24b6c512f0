"""A context of its own for every operation, also on a shared websocket."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from realtime.after_commit import publishing_to
from resolvers.context import Context


class ContextPerOperation(SchemaExtension):
    """Over a websocket Strawberry hands every operation the connection's one context:
    its loaders would cache rows for the socket's lifetime and be shared by concurrent
    streams. Each operation gets a copy with fresh loaders (same viewer and socket).
    What the operation commits signals on its context's bus."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and context.connection_params is not None:
            self.execution_context.context = dataclasses.replace(context)
        bus = context.bus if isinstance(context, Context) else None
        with publishing_to(bus):
            yield
