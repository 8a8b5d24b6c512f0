"""graphql-transport-ws with our limits: a coded error past the per-connection operation
cap, close code 4429 past the per-user connection cap, 1013 while the database is out of
reach; a client that leaves mid-send is no incident. A subscription runs on the lighter
path of schema/live_operation.py, and its stream may send its group's frames itself
(schema/live_delivery.py)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from starlette.websockets import WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected as SocketClosed
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.utils.aio import aclosing

from resolvers.context import Context
from resolvers.errors import RateLimited, ServiceUnavailable
from schema.live_delivery import next_prefix, sending_to
from schema.live_groups import Rendered
from schema.live_operation import live_operation, live_results
from schema.schema import Schema
from server.connection_slots import TOO_MANY_CONNECTIONS, TooManyConnections
from server.outage import TRY_AGAIN_LATER

logger = logging.getLogger("funnelgraph.websocket")


class FrameSink:
    """Writes a group's rendered payload as one operation's `next` message."""

    __slots__ = ("_prefix", "_socket")

    def __init__(self, socket: AsyncWebSocketAdapter, operation_id: str) -> None:
        assert isinstance(socket, ASGIWebSocketAdapter)
        self._socket = socket.ws
        self._prefix = next_prefix(operation_id)

    async def __call__(self, rendered: Rendered) -> None:
        try:
            await self._socket.send_text(f"{self._prefix}{rendered.text}}}")
        except (WebSocketDisconnect, SocketClosed):
            # The client left (or the socket was closed): the operation is over, as when
            # the handler cancels it at close; not an error to report on the stream.
            raise asyncio.CancelledError("the client left") from None


class TransportHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
            # Cancelled by now: a socket need not hold its finished task for its life.
            self.connection_init_timeout_task = None
        except TooManyConnections as error:
            await self.websocket.close(code=TOO_MANY_CONNECTIONS, reason=str(error))
        except ServiceUnavailable as error:
            await self.websocket.close(code=TRY_AGAIN_LATER, reason=error.message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        cap = self.max_subscriptions_per_connection
        if (
            cap is not None
            and self.connection_acknowledged
            and message["id"] not in self.operations
            and len(self.operations) >= cap
        ):
            error = RateLimited(
                f"at most {cap} operations at once on one connection "
                "(MAX_SUBSCRIPTIONS_PER_CONNECTION)"
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        with sending_to(FrameSink(self.websocket, message["id"])):
            await super().handle_subscribe(message)  # starts the operation's task
        # The reader loop holds its last message until the next one comes, maybe never;
        # the operation keeps what it needs of it.
        message.clear()  # type: ignore[attr-defined]

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """A subscription runs on the lighter path of schema/live_operation.py, sending
        what Strawberry's would; anything else as Strawberry runs it."""
        assert isinstance(self.schema, Schema)
        live = live_operation(
            self.schema, operation.query, operation.variables, operation.operation_name
        )
        if live is None:
            await super().run_operation(operation)
            return
        try:
            async with aclosing(live_results(self.schema, live, self.context)) as results:
                await self._send_result_stream(operation, results)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except Exception as error:  # as Strawberry's run_operation
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, WebSocketDisconnected):
            logger.debug("the client left while an operation was sending")
            return
        await super().handle_task_exception(error)
