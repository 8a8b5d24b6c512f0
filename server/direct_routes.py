"""The app's GraphQL endpoint, reached past Starlette's router and middleware.

The middleware stack does nothing for a websocket: the error middleware, the HTTP
guard and CORS pass it on untouched, and no handler of ours raises what the
exception middleware would turn into a close. Yet each layer would keep a coroutine
for the socket's whole life and wrap every frame sent to it: ten of them on every
live event for every subscriber. So a websocket to a route of `sockets` goes straight
to it.

An HTTP GET or POST of /graphql is the request clients send most, and the layers
around it cost it more than a tenth of its time: the error middleware's and the
exception middleware's wrappers around each message sent, and the router's matching.
`graphql`, when given, is what that request gets instead: the HTTP guard around the
GraphQL app, which answers its own errors (an exception escaping it is logged and
answered 500 by uvicorn, as by the error middleware). The app passes it only when no
CORS middleware is configured, which every request must go through.

Anything else (the lifespan, other paths and methods) goes through the whole app.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

GRAPHQL_PATH = "/graphql"


class DirectRoutes(Starlette):
    def __init__(
        self, *, routes: list[BaseRoute], graphql: ASGIApp | None = None, **kwargs: Any
    ) -> None:
        super().__init__(routes=routes, **kwargs)
        self._sockets = [route for route in routes if isinstance(route, WebSocketRoute)]
        self._graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and self._graphql is not None and _graphql_request(scope):
            scope["app"] = self
            await self._graphql(scope, receive, send)
            return
        if kind == "websocket":
            for route in self._sockets:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope["app"] = self
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)


def _graphql_request(scope: Scope) -> bool:
    return (
        scope["path"] == GRAPHQL_PATH
        and scope["method"] in ("GET", "POST")
        and not scope.get("root_path")
    )
