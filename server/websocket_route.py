"""The app's websockets go straight to their route, past Starlette's middleware.

The middleware stack does nothing for a websocket: the error middleware, the HTTP
guard and CORS pass it on untouched, and no handler of ours raises what the
exception middleware would turn into a close. Yet each layer would keep a coroutine
for the socket's whole life and wrap every frame sent to it: ten of them on every
live event for every subscriber. HTTP requests, the lifespan, and websockets to any
other path go through the whole app as before.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, WebSocketRoute
from starlette.types import Receive, Scope, Send


class DirectWebSockets(Starlette):
    def __init__(self, *, routes: list[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes=routes, **kwargs)
        self._sockets = [route for route in routes if isinstance(route, WebSocketRoute)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            for route in self._sockets:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope["app"] = self
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)
