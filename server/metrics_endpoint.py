"""GET /metrics: the Prometheus text format, of this process or of all of them.

With `--workers` above 1 each worker writes its values under PROMETHEUS_MULTIPROC_DIR
(the CLI makes one when it is not set: `multiprocess_dir`), and whichever worker a
scrape reaches adds them all up. With METRICS_TOKEN set the endpoint asks for it as a
bearer token; without it, it is open in development and not there in production.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from models.database import pool_in_use
from realtime.metrics import DB_POOL_IN_USE, flush_operations

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_SECONDS = 1.0


def metrics_endpoint(token: str | None) -> Callable[[Request], Awaitable[Response]]:
    """The handler; `token` None: anyone may scrape (development)."""
    expected = None if token is None else f"Bearer {token}".encode()

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return PlainTextResponse(
                    "send METRICS_TOKEN as a bearer token",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        DB_POOL_IN_USE.set(pool_in_use())
        flush_operations()
        return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)

    return metrics


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_VARIABLE):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def multiprocess_dir(workers: int) -> str | None:
    """Before uvicorn starts `workers` processes: a fresh PROMETHEUS_MULTIPROC_DIR when
    there are several and none is set, returned for the caller to remove at exit (an
    operator's own is emptied of a previous run's files, as prometheus-client asks)."""
    if workers <= 1:
        return None
    path = os.environ.get(MULTIPROC_VARIABLE)
    if path:
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))
        return None
    path = os.environ[MULTIPROC_VARIABLE] = tempfile.mkdtemp(prefix="funnelgraph-metrics-")
    return path


@asynccontextmanager
async def process_metrics() -> AsyncIterator[None]:
    """A worker's lifespan: every second its operations counted and its pool use sampled
    (a scrape may reach another worker), and, once it ends, its live gauges no longer
    counted."""
    sampler = asyncio.create_task(_sample(), name="metrics-sampler")
    try:
        yield
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        flush_operations()
        if os.environ.get(MULTIPROC_VARIABLE):
            with suppress(OSError):
                prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


async def _sample() -> None:
    while True:
        DB_POOL_IN_USE.set(pool_in_use())
        flush_operations()
        await asyncio.sleep(SAMPLE_SECONDS)
