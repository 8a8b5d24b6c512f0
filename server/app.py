"""The ASGI app: GraphQL over HTTP, health probes, and one lifespan for shared resources."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.unset import UnsetType

from models.database import close_database, open_database
from realtime import metrics
from realtime.bus import Bus, open_bus
from realtime.limit_store import LimitStore, open_limit_store
from realtime.operation_budget import OperationBudget
from realtime.query_store import open_query_store
from realtime.transport import redis_answers
from resolvers.context import Context
from resolvers.errors import ServiceUnavailable
from resolvers.shared_reads import Missing
from resolvers.subscriptions import forget_access
from resolvers.throttle import Throttle, ThrottleLimits
from resolvers.viewers import fresh_viewer, viewer_if_fresh
from schema.live_delivery import next_frame
from schema.live_groups import rendered_payload
from schema.operation_guard import QueryLimits
from schema.schema import Schema, build_schema
from server import request_ids
from server.auth import JwtTokens
from server.background import (
    log_retention,
    registration_watch,
    retry_key_purge,
    rotting_watch,
    webhook_deliveries,
    webhook_url_rules,
)
from server.collector import tuned_collector
from server.connection_slots import ConnectionSlots
from server.direct_post import answer_directly, takes
from server.direct_routes import DirectRoutes
from server.graphiql import graphiql_page
from server.graphql_response import (
    MEDIA_TYPE,
    as_response,
    asks_for_graphql_response,
    http_answer,
)
from server.health import database_answers
from server.http_guard import HttpGuard
from server.logs import writer as log_writer
from server.metrics_endpoint import metrics_endpoint, process_metrics
from server.observer import OperationObserver
from server.outage import or_unavailable, refuse
from server.persisted_queries import PersistedQueries, PersistedQueryRefused, TrustedDocuments
from server.request_headers import header
from server.settings import Settings
from server.tracing import Tracing
from server.web_client import web_client_routes
from server.websocket_auth import cancel_expiry, close_at_expiry, viewer_from_init
from server.websocket_handler import TransportHandler


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportHandler

    def __init__(self, settings: Settings, tracing: Tracing | None = None) -> None:
        limits = settings.limits
        super().__init__(
            build_schema(
                QueryLimits(
                    max_tokens=limits.max_query_tokens,
                    max_depth=limits.max_query_depth,
                    max_aliases=limits.max_query_aliases,
                    max_fields=limits.max_query_fields,
                    max_cost=limits.max_query_cost,
                ),
                production=settings.is_production,
                observer=(
                    OperationObserver(settings.log_format, settings.log_operations, tracing)
                    if settings.metrics or settings.log_operations or tracing
                    else None
                ),
            ),
            graphql_ide="graphiql" if not settings.is_production else None,
            # graphql-ws (legacy) is left out: its auth would differ.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            allowed_origins=settings.allowed_origins,
        )
        self.max_subscriptions_per_connection = limits.max_subscriptions_per_connection
        self.max_connections_per_user = limits.max_connections_per_user
        self.throttle_limits = ThrottleLimits(
            login_failures_per_email=limits.login_failures_per_email,
            login_failures_per_address=limits.login_failures_per_address,
            login_cooldown_seconds=limits.login_cooldown_seconds,
            operations_per_second=limits.operations_per_second,
        )
        self.tokens = JwtTokens(settings.secret_key, settings.token_ttl_seconds)
        self.store: LimitStore | None = None
        self.budget: OperationBudget | None = None
        self.slots: ConnectionSlots | None = None
        self.throttle: Throttle | None = None  # every operation's, while there is a store
        self.bus: Bus | None = None  # the lifespan's; each operation's Context carries it
        self.persisted: PersistedQueries | None = None  # the lifespan's
        self.open_websockets = 0
        self.tracing = tracing
        self.webhook_urls = webhook_url_rules(settings)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        """As Strawberry's, for the document a persisted query names (when it names one);
        an answer (not a stream) lets go of its loaders' rows, as on the direct path
        (server/direct_post.py)."""
        if self.persisted is not None and isinstance(request_data, GraphQLRequestData):
            try:
                request_data.query = await self.persisted.document(
                    request_data.query, request_data.extensions
                )
            except PersistedQueryRefused as refused:
                context.forget_reads()
                return ExecutionResult(None, [refused.as_graphql_error()])
        streams = False
        try:
            result = await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
            streams = isinstance(result, AsyncGenerator)
            return result
        finally:
            if not streams:
                context.forget_reads()

    def parse_json(self, data: str | bytes) -> Any:
        """The body as JSON; 400 unless it is an object (a list is a batch: refused too)."""
        try:
            value = super().parse_json(data)
        except (RecursionError, ValueError) as error:  # nested too deep, or not UTF-8
            raise HTTPException(400, "Unable to parse request body as JSON") from error
        if not isinstance(value, dict | list):
            raise HTTPException(400, "the request body must be a JSON object")
        return value

    def encode_json(self, data: object) -> str | bytes:
        """JSON text: Strawberry sends it as a websocket's message, which the protocol
        wants in a text frame (bytes would go as a binary one, which browsers hand over
        as a Blob). A live payload rendered once for its group is spliced in as it is."""
        rendered = rendered_payload(data)
        if rendered is not None and isinstance(data, dict):
            return next_frame(str(data["id"]), rendered)
        return orjson.dumps(data).decode()

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL, with a page of its own for a browser that cannot reach its CDN."""
        return graphiql_page()

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """Strawberry's rule (a GET with no query, from a browser), but not for a GET
        that names a persisted query by its hash: that one is an operation."""
        return super().should_render_graphql_ide(request) and (
            request.query_params.get("extensions") is None
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Strawberry's, marked with the media type the client asked for."""
        sub_response = await super().get_sub_response(request)
        if asks_for_graphql_response(request.headers.get("accept")):
            sub_response.media_type = MEDIA_TYPE
        return sub_response

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """As server/graphql_response.py says (a batch: as Strawberry answers it)."""
        if isinstance(response_data, list):
            return super().create_response(response_data, sub_response)
        answer = http_answer(response_data, sub_response.media_type == MEDIA_TYPE)
        response = as_response(answer, orjson.dumps(answer.body))
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        return response

    def use_store(self, store: LimitStore | None) -> None:
        """Where rate limits and websocket slots count; set by the lifespan, which opens it."""
        self.store = store
        self.budget = OperationBudget(store) if store is not None else None
        self.slots = ConnectionSlots(store) if store is not None else None
        self.throttle = (
            None
            if store is None or self.budget is None
            else Throttle(store, self.budget, self.throttle_limits)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_ids.begin(scope)
        if self.tracing is None or scope["type"] == "websocket":
            await self._respond(scope, receive, send, request_id)
            return
        with self.tracing.request(request_id):
            await self._respond(scope, receive, send, request_id)

    async def _respond(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        try:
            if takes(scope):  # the direct path adds the request id header itself
                schema = cast(Schema, self.schema)
                replayed = await answer_directly(
                    schema, self.get_context, self.persisted, scope, receive, send
                )
                if replayed is None:
                    return
                receive = replayed
            await super().__call__(scope, receive, request_ids.echoing(send, request_id))
        except ServiceUnavailable as error:
            await refuse(error, scope, receive, request_ids.echoing(send, request_id))

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.open_websockets += 1
        if metrics.enabled:
            metrics.WEBSOCKETS_OPEN.inc()
        try:
            await super().__call__(scope, receive, send)
        except ServiceUnavailable as error:
            await refuse(error, scope, receive, send)
        finally:
            self.open_websockets -= 1
            if metrics.enabled:
                metrics.WEBSOCKETS_OPEN.dec()
            cancel_expiry(scope)
            if self.slots is not None:
                await self.slots.give_back(scope)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        viewer = await or_unavailable(viewer_from_init(self.tokens, context))
        if viewer is None:
            raise ConnectionRejectionError()
        if self.slots is not None:
            await self.slots.take(context.request, viewer.pk, self.max_connections_per_user)
        context.sign_in(viewer)
        close_at_expiry(self.tokens, context)
        return cast(UnsetType, UNSET)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        user_pk = self.tokens.bearer_pk(header(request.scope, b"authorization"))
        viewer = None
        if user_pk is not None:
            known = viewer_if_fresh(user_pk)  # no await, as a request mostly finds it
            viewer = (
                await or_unavailable(fresh_viewer(user_pk)) if isinstance(known, Missing) else known
            )
        return Context(
            viewer=viewer,
            tokens=self.tokens,
            request=request,
            response=response,
            throttle=self.throttle,
            client_address=client[0] if (client := request.scope.get("client")) else "unknown",
            bus=self.bus,
            webhook_urls=self.webhook_urls,
        )


def create_app(settings: Settings | None = None, tracing: Tracing | None = None) -> Starlette:
    """The whole service for `settings` (default: read from the environment); spans go
    to `tracing` (default: OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set)."""
    settings = settings or Settings.from_env()
    metrics.enabled = settings.metrics
    tracing = tracing or Tracing.from_endpoint(settings.otlp_endpoint)
    graphql = GraphQLApp(settings, tracing)
    manifest = settings.trusted_documents
    trusted = None if manifest is None else TrustedDocuments.of(manifest)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await open_database(settings.database_url, tracing.statement if tracing else None)
        forget_access()
        try:
            async with (
                open_bus(settings.redis_url, settings.redis_prefix) as bus,
                open_limit_store(settings.redis_url, settings.redis_prefix) as store,
                open_query_store(settings.redis_url, settings.redis_prefix) as queries,
                registration_watch(bus, settings.registration_check_seconds),
                rotting_watch(bus, settings.rotting_check_seconds),
                log_retention(settings.event_retention_days),
                retry_key_purge(),
                webhook_deliveries(bus, settings),
                process_metrics(),
            ):
                graphql.bus = bus
                graphql.use_store(store)
                graphql.persisted = PersistedQueries(queries, trusted)
                try:
                    with tuned_collector():  # in each worker process, once it has started
                        yield {}
                finally:
                    if graphql.slots is not None:
                        await graphql.slots.close()
        finally:
            graphql.bus = None
            graphql.persisted = None
            graphql.use_store(None)
            await close_database()
            log_writer.flush()
            if tracing is not None:
                tracing.shutdown()

    async def healthz(request: Request) -> Response:
        bus = graphql.bus
        live = {
            "websockets": graphql.open_websockets,
            **(bus.hub.stats() if bus else {}),
            **(bus.presence.stats() if bus and bus.presence else {}),
            **cast(Schema, graphql.schema).frames.stats(),
            "tasks": len(asyncio.all_tasks()),
        }
        return JSONResponse({"status": "ok", "live": live})

    async def readyz(request: Request) -> Response:
        checks = {"database": await database_answers()}
        if settings.redis_url:
            checks["redis"] = await redis_answers(settings.redis_url)
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def sdl(request: Request) -> Response:
        """The served schema as SDL, in development (production has no introspection)."""
        return PlainTextResponse(cast(Schema, graphql.schema).as_str() + "\n")

    development = [] if settings.is_production else [Route("/graphql/schema.graphql", sdl)]
    scraped = settings.metrics and (settings.metrics_token or not settings.is_production)
    scrape = [Route("/metrics", metrics_endpoint(settings.metrics_token))] if scraped else []
    guarded = HttpGuard(graphql, max_body_bytes=settings.limits.max_body_bytes)
    return DirectRoutes(
        # CORS must see every request: with it, /graphql goes the whole way round.
        graphql=None if settings.allowed_origins else guarded,
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *web_client_routes(),
            *development,
            *scrape,
        ],
        middleware=[
            *_cors(settings),
            Middleware(HttpGuard, max_body_bytes=settings.limits.max_body_bytes),
        ],
        lifespan=lifespan,
    )


def _cors(settings: Settings) -> list[Middleware]:
    """CORS for the allowed browser origins; none configured, none needed (the server's
    own pages are same-origin), and no middleware in every request's way."""
    if not settings.allowed_origins:
        return []
    # Outermost, so that the guard's refusals reach browsers with CORS headers too.
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    ]
