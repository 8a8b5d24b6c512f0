"""The ASGI app: GraphQL over HTTP, health probes, and one lifespan for shared resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from models.database import close_database, open_database
from realtime.bus import open_bus
from realtime.transport import redis_answers
from resolvers.context import Context
from resolvers.subscriptions import forget_access
from schema.schema import build_schema
from server.auth import JwtTokens
from server.background import log_retention, registration_watch
from server.health import database_answers
from server.settings import Settings
from server.websocket_auth import cancel_expiry, close_at_expiry, viewer_from_init


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            build_schema(),
            graphql_ide="graphiql" if not settings.is_production else None,
            # graphql-ws (legacy) is left out: its auth would differ.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.tokens = JwtTokens(settings.secret_key, settings.token_ttl_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            cancel_expiry(scope)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        viewer = await viewer_from_init(self.tokens, context)
        if viewer is None:
            raise ConnectionRejectionError()
        context.sign_in(viewer)
        close_at_expiry(self.tokens, context)
        return cast(UnsetType, UNSET)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        viewer = await self.tokens.viewer(request.headers.get("authorization"))
        return Context(viewer=viewer, tokens=self.tokens, request=request, response=response)


def create_app(settings: Settings | None = None) -> Starlette:
    """The whole service for `settings` (default: read from the environment)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await open_database(settings.database_url)
        forget_access()
        try:
            async with (
                open_bus(settings.redis_url),
                registration_watch(settings.registration_check_seconds),
                log_retention(settings.event_retention_days),
            ):
                yield {}
        finally:
            await close_database()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = {"database": await database_answers()}
        if settings.redis_url:
            checks["redis"] = await redis_answers(settings.redis_url)
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    graphql = GraphQLApp(settings)
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
