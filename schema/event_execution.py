"""Subscription events that the database interrupts are executed again, not sent broken.

A stream reads an event from the log while the database answers; should the database
go away while the event's fields load, the result would carry SERVICE_UNAVAILABLE
errors. The event is executed again once the database answers instead (with fresh
loaders: a failed load stays cached in its loader), so a stream never skips an event
and never sends an error for an outage.
"""

from __future__ import annotations

from typing import Any

from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from models.database import is_unreachable, ping, until_reachable
from resolvers.context import Context
from resolvers.loaders import Loaders


class EventRetryingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; a subscription event's execution is retried as above."""

    _origin: EventRetryingExecutor | None = None

    def build_per_event_executor(self, payload: Any) -> EventRetryingExecutor:
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, EventRetryingExecutor)
        executor._origin = self
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        result = super().execute_operation(serially)
        if self._origin is None:
            return result  # a query, a mutation or a subscription's source stream
        return self._until_complete(result, serially)

    async def _until_complete(self, result: Any, serially: bool | None) -> Any:
        while True:
            if self.is_awaitable(result):
                result = await result
            if not _interrupted(result):
                return result
            await until_reachable(ping, "executing a subscription event")
            assert self._origin is not None
            again = self._origin.build_per_event_executor(self.root_value)
            if isinstance(self.context_value, Context):
                self.context_value.loaders = Loaders(self.context_value.viewer)
            result = StrawberryGraphQLCoreExecutionContext.execute_operation(again, serially)


def _interrupted(result: Any) -> bool:
    return isinstance(result, ExecutionResult) and any(
        is_unreachable(error.original_error) for error in result.errors or ()
    )
