"""graphql-transport-ws with our limits: a coded error past the per-connection operation
cap, close code 4429 past the per-user connection cap, 1013 while the database is out of
reach; a client that leaves mid-send is no incident."""

from __future__ import annotations

import logging

from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from resolvers.context import Context
from resolvers.errors import RateLimited, ServiceUnavailable
from server.connection_slots import TOO_MANY_CONNECTIONS, TooManyConnections
from server.outage import TRY_AGAIN_LATER

logger = logging.getLogger("funnelgraph.websocket")


class TransportHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
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
        await super().handle_subscribe(message)

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, WebSocketDisconnected):
            logger.debug("the client left while an operation was sending")
            return
        await super().handle_task_exception(error)
