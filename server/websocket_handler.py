"""graphql-transport-ws with our limits: a coded error past the per-connection operation
cap, close code 4429 past the per-user connection cap, 1013 while the database is out of
reach; a client that leaves mid-send is no incident. A subscription runs on the lighter
path of schema/live_operation.py, and its stream may send its group's frames itself
(schema/live_delivery.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any, cast

from starlette.websockets import WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected as SocketClosed
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.utils.aio import aclosing

from realtime import metrics
from resolvers.context import Context
from resolvers.errors import RateLimited, ServiceUnavailable
from schema.live_delivery import next_prefix, sending_to
from schema.live_groups import Rendered
from schema.live_operation import live_operation, live_results
from schema.schema import Schema
from server.connection_slots import TOO_MANY_CONNECTIONS, TooManyConnections
from server.outage import TRY_AGAIN_LATER
from server.persisted_queries import PersistedQueries, PersistedQueryRefused

logger = logging.getLogger("funnelgraph.websocket")


class FrameSink:
    """Writes a group's rendered payload as one operation's `next` message: from the
    operation's stream, or (`send_now`) from where its event's execution finished, while
    the stream waits. Whatever goes to one socket goes in the order it was given."""

    __slots__ = ("_failed", "_handler", "_prefix", "_socket", "operation")

    def __init__(self, handler: TransportHandler, operation_id: str) -> None:
        socket = handler.websocket
        assert isinstance(socket, ASGIWebSocketAdapter)
        self._socket = socket.ws
        self._prefix = next_prefix(operation_id)
        self._handler = handler
        self.operation: Operation[Context, None] | None = None  # set once it is started
        self._failed = False

    async def __call__(self, rendered: Rendered) -> None:
        await self._handler.drained()
        if self._failed:
            raise asyncio.CancelledError("the client left")
        try:
            await self._socket.send_text(f"{self._prefix}{rendered.text}}}")
        except (WebSocketDisconnect, SocketClosed):
            # The client left (or the socket was closed): the operation is over, as when
            # the handler cancels it at close; not an error to report on the stream.
            raise asyncio.CancelledError("the client left") from None

    def send_now(self, rendered: Rendered) -> bool:
        operation, handler = self.operation, self._handler
        if handler.draining or self._failed or operation is None:
            return False
        if operation.completed or handler.operations.get(operation.id) is not operation:
            return False  # completed or cancelled: its stream is ending
        # Starlette's and uvicorn's sends run to their end with no await while the socket
        # takes the frame: driven here, in place; else finished by a task of their own,
        # which every later message to the socket waits for.
        send = self._socket.send_text(f"{self._prefix}{rendered.text}}}")
        try:
            waiting = send.send(None)
        except StopIteration:
            return True
        except Exception:  # the client left: the stream, woken, finds out
            return False
        draining = asyncio.ensure_future(self._drain(send, waiting))
        handler.draining.append(draining)
        draining.add_done_callback(handler.draining.remove)
        return True

    async def _drain(self, send: Coroutine[Any, Any, None], waiting: Any) -> None:
        """Runs `send`, suspended on `waiting`, to its end (its socket's buffer was full)."""
        try:
            while True:
                if isinstance(waiting, asyncio.Future):
                    await asyncio.wait([waiting])
                else:
                    await asyncio.sleep(0)
                waiting = send.send(None)
        except StopIteration:
            pass
        except Exception:  # the client left while its buffer was full
            self._failed = True
        except BaseException:
            send.close()
            raise


class TransportHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.draining: list[asyncio.Task[None]] = []  # frames FrameSink sends later

    async def drained(self) -> None:
        """Until the frames sent earlier to this socket are out."""
        while self.draining:
            await asyncio.wait(list(self.draining))

    async def send_message(self, message: Message) -> None:
        await self.drained()
        await super().send_message(message)

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
            metrics.rate_limited("subscriptions_per_connection")
            error = RateLimited(
                f"at most {cap} operations at once on one connection "
                "(MAX_SUBSCRIPTIONS_PER_CONNECTION)"
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        if not await self._named_document(message):
            return
        sink = FrameSink(self, message["id"])
        with sending_to(sink):
            await super().handle_subscribe(message)  # starts the operation's task
        sink.operation = self.operations.get(message["id"])
        # The reader loop holds its last message until the next one comes, maybe never;
        # the operation keeps what it needs of it.
        message.clear()  # type: ignore[attr-defined]

    async def _named_document(self, message: SubscribeMessage) -> bool:
        """Puts the document a persisted query names into the message (False once refused:
        the operation then gets an error message, as for any operation that cannot run)."""
        persisted = cast("PersistedQueries | None", getattr(self.view, "persisted", None))
        payload = message.get("payload")
        if persisted is None or not self.connection_acknowledged or not isinstance(payload, dict):
            return True
        query, extensions = payload.get("query"), payload.get("extensions")
        try:
            document = await persisted.document(
                query if isinstance(query, str) else None,
                extensions if isinstance(extensions, dict) else None,
            )
        except PersistedQueryRefused as refused:
            error = refused.as_graphql_error()
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return False
        if document is not None:
            payload["query"] = document
        return True

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
        operation.query = live.query  # the copy its other subscribers hold
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
