"""The browser client at /app/: static files from server/web, from this server only.

Plain JavaScript modules, no build step and nothing fetched from elsewhere: the page
works on a machine without internet, and its Content-Security-Policy says so (scripts,
styles and connections to this origin only, the websocket included)."""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB = Path(__file__).with_name("web")
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class _Secured:
    """The files, with the page's security headers and no caching of stale code."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["content-security-policy"] = POLICY
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "no-referrer"
                headers["cache-control"] = "no-cache"  # revalidated: ETag answers 304
            await send(message)

        await self.app(scope, receive, with_headers)


def web_client_routes() -> list[BaseRoute]:
    """GET /app/ (index.html) and its files; /app redirects there."""

    async def to_app(request: object) -> RedirectResponse:
        return RedirectResponse("/app/", status_code=308)

    return [
        Route("/app", to_app),
        Mount("/app", app=_Secured(StaticFiles(directory=WEB, html=True)), name="app"),
    ]
