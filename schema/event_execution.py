"""How each subscription event is executed: once per group, and never sent broken.

A live stream yields SharedEvents. The first subscriber of a group to reach an
event executes it and renders the payload; the others of its group get those bytes
(schema/live_groups.py), most of them straight from their own stream
(schema/live_delivery.py). Each execution has fresh loaders, so it never reads a
row older than its event.

Should the database go away while an event's fields load, the result would carry
SERVICE_UNAVAILABLE errors: the event is executed again once the database answers
(with fresh loaders: a failed load stays cached in its loader), so a stream never
skips an event and never sends an error for an outage.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Iterable
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from graphql import (
    ExecutionResult,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from models.database import is_unreachable, ping, until_reachable
from realtime import metrics
from resolvers.context import Context
from resolvers.event_rows import EventRows
from resolvers.loaders import Loaders
from schema.live_groups import Frames, Rendered, SharedEvent
from schema.plain_lists import Step, list_items, object_plan


class EventExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with a subscription's events executed as above, and lists
    of plain objects completed in one pass (schema/plain_lists.py)."""

    _origin: EventExecutor | None = None
    _plans: dict[tuple[GraphQLObjectType, int], tuple[FieldDetailsList, Step | None]] | None = None

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: AsyncIterable[Any] | Iterable[Any],
        position_context: Any,
    ) -> Any:
        item = return_type.of_type
        nullable = not isinstance(item, GraphQLNonNull)
        item_type = item.of_type if isinstance(item, GraphQLNonNull) else item
        if isinstance(result, list | tuple) and isinstance(item_type, GraphQLObjectType):
            plan = self._plan(item_type, field_details_list)
            if plan is not None:
                try:
                    return list_items(plan, result, nullable)
                except Exception:  # NotPlain, or a value to fail: graphql-core says how
                    pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _plan(self, item_type: GraphQLObjectType, fields: FieldDetailsList) -> Step | None:
        """The one-pass plan for this selection, made once per operation (like graphql-core,
        keyed by the identity of the field list, kept alive beside its plan)."""
        if self._plans is None:
            self._plans = {}
        key = (item_type, id(fields))
        known = self._plans.get(key)
        if known is None:
            known = self._plans[key] = (
                fields,
                object_plan(item_type, fields, self.collect_subfields),
            )
        return known[1]

    def build_per_event_executor(self, payload: Any) -> EventExecutor:
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, EventExecutor)
        executor._origin = self
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        if self._origin is None:  # a query, a mutation or a subscription's source stream
            return super().execute_operation(serially)
        if isinstance(self.root_value, SharedEvent):
            return self._shared(self.root_value, serially)
        self._fresh_loaders(None)  # the socket's own loaders would be as old as it is
        return self._until_complete(super().execute_operation(serially), serially)

    async def _shared(self, event: SharedEvent, serially: bool | None) -> ExecutionResult:
        execute = partial(self._execute_for_group, event, serially)
        execution = self._frames().claim(event.key, execute)
        # The execution serves the whole group: leaving does not cancel it.
        await execution.rendered()
        return _carrying(execution.task.result())  # raises what the execution raised

    async def _execute_for_group(self, event: SharedEvent, serially: bool | None) -> Rendered:
        rendered = self._render(await self._execute_loaded(event, serially))
        _observe_lag(self.root_value)
        return rendered

    async def _execute_loaded(self, event: SharedEvent, serially: bool | None) -> ExecutionResult:
        """The event executed for this subscriber (retried through a database outage)."""
        self._fresh_loaders(self._shared_rows(event))
        self.root_value = await event.load()
        base = StrawberryGraphQLCoreExecutionContext.execute_operation(self, serially)
        result: ExecutionResult = await self._until_complete(base, serially)
        return result

    def _frames(self) -> Frames:
        frames = self._app_schema().frames
        assert isinstance(frames, Frames)
        return frames

    def _app_schema(self) -> Any:
        """The app's Schema (schema/schema.py), which Strawberry links from graphql-core's."""
        return getattr(self.schema, "_strawberry_schema")  # noqa: B009  (not in its typing)

    def _render(self, result: ExecutionResult) -> Rendered:
        """The payload as every subscriber of the group gets it: errors coded and masked
        as on any answer (and an unexpected one logged once), then serialized."""
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            errors = list(result.errors)
            self._app_schema().process_errors(errors)
            payload["errors"] = [error.formatted for error in errors]
        return Rendered(orjson.dumps(payload).decode())

    async def _until_complete(self, result: Any, serially: bool | None) -> Any:
        while True:
            if self.is_awaitable(result):
                result = await result
            if not _interrupted(result):
                return result
            await until_reachable(ping, "executing a subscription event")
            assert self._origin is not None
            again = self._origin.build_per_event_executor(self.root_value)
            self._fresh_loaders(None)  # rows read again: some may have failed mid-read
            result = StrawberryGraphQLCoreExecutionContext.execute_operation(again, serially)

    def _fresh_loaders(self, rows: EventRows | None) -> None:
        if isinstance(self.context_value, Context):
            self.context_value.loaders.release()  # the last event's rows
            self.context_value.loaders = Loaders(self.context_value.viewer, rows)

    def _shared_rows(self, event: SharedEvent) -> EventRows | None:
        """The event's rows, read once for all its groups."""
        return self._frames().rows(event)


class SoloExecutor(EventExecutor):
    """Every subscriber executes every event on its own: the path grouped execution
    must equal, kept as its test oracle."""

    async def _shared(self, event: SharedEvent, serially: bool | None) -> ExecutionResult:
        return await self._execute_loaded(event, serially)

    def _shared_rows(self, event: SharedEvent) -> EventRows | None:
        return None  # the oracle reads its own rows


def _observe_lag(root: object) -> None:
    """Commit to frames (they go out as the execution finishes: schema/live_delivery.py),
    for an event that says when it happened (presence does not)."""
    row = getattr(root, "row", None)  # the log's or the notification's row, under its type
    happened = getattr(row, "occurred_at", None) or getattr(row, "created_at", None)
    if metrics.enabled and isinstance(happened, datetime):
        metrics.EVENT_DELIVERY_LAG.observe(max(0.0, time.time() - happened.timestamp()))


def _carrying(rendered: Rendered) -> ExecutionResult:
    """A result whose data is the rendered payload; the app's JSON encoder splices it
    into each subscriber's `next` message as it is."""
    return ExecutionResult(data=rendered)  # type: ignore[arg-type]


def _interrupted(result: Any) -> bool:
    return isinstance(result, ExecutionResult) and any(
        is_unreachable(error.original_error) for error in result.errors or ()
    )
