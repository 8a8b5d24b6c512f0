"""The `funnelgraph` command: serve, migrate, create-user, export-schema, seed-demo."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from models import Permission
from models.database import apply_migrations, close_database, open_database
from resolvers.errors import AppError
from server.settings import Settings, SettingsError

T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        return int(args.run(settings, args) or 0)
    except (SettingsError, AppError) as error:
        print(f"funnelgraph: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="funnelgraph", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the GraphQL server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log a line per HTTP request (off by default: at thousands of requests per "
        "second the log line costs more than the request; log at the proxy instead)",
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply the database migrations")
    migrate.set_defaults(run=_migrate)

    create_user = commands.add_parser("create-user", help="create a user; prints its id")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--name", required=True)
    create_user.add_argument("--password", required=True)
    create_user.add_argument(
        "--permission",
        action="append",
        default=[],
        choices=[permission.value for permission in Permission],
        metavar="PERMISSION",
        help="grant a permission (repeatable): " + ", ".join(p.value for p in Permission),
    )
    create_user.set_defaults(run=_create_user)

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.set_defaults(run=_export_schema)

    seed = commands.add_parser("seed-demo", help="load a demo team, customers and campaigns")
    seed.set_defaults(run=_seed_demo)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from server.logs import configure, log_config
    from server.metrics_endpoint import multiprocess_dir
    from server.open_files import raise_open_files_limit
    from server.websocket_protocol import LeanWebSocketProtocol

    configure(settings.log_format)
    if settings.is_sqlite:
        asyncio.run(apply_migrations(settings.database_url))
    raise_open_files_limit()
    made = multiprocess_dir(args.workers)
    try:
        _run_uvicorn(settings, args, log_config(settings.log_format), LeanWebSocketProtocol)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    return 0


def _run_uvicorn(
    settings: Settings, args: argparse.Namespace, logs: dict[str, Any], ws: type
) -> None:
    import uvicorn

    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        lifespan="on",
        proxy_headers=True,
        # No "server: uvicorn" on every response: it tells a client nothing it needs,
        # and each header costs uvicorn two regular-expression checks per response.
        server_header=False,
        # websockets' sans-I/O protocol: no reader task, stream buffer or keepalive task per
        # socket (the older implementation, uvicorn's "auto", kept ~8 KiB more per socket
        # and is deprecated by websockets itself), holding less (server/websocket_protocol.py).
        ws=ws,
        # A websocket message is held to the same limit as an HTTP body.
        ws_max_size=settings.limits.max_body_bytes,
        # Live frames are small JSON: compressing each for each socket cost more CPU than
        # their JSON encoding, and every socket a compression context of its own.
        ws_per_message_deflate=False,
        # A socket that leaves a ping unanswered this long is closed, and its streams
        # end. Pings cost every socket a timer and two frames: uvicorn's 20 s made most
        # of an idle server's work with 10,000 sockets (browsers themselves never ping).
        ws_ping_interval=settings.websocket_ping_seconds,
        ws_ping_timeout=settings.websocket_ping_seconds,
        # Past this, requests and streams still running are cancelled (uvicorn's default
        # is to wait for them forever); the lifespan then closes the pools.
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        log_config=logs,
    )


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(apply_migrations(settings.database_url))
    print("migrations applied")
    return 0


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.ids import encode_id
    from resolvers.users import create_user

    async def create() -> str:
        user = await create_user(
            name=args.name,
            email=args.email,
            password=args.password,
            permissions=[Permission(name) for name in args.permission],
        )
        return encode_id("User", user.pk)

    print(_with_database(settings, create))
    return 0


def _export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema.schema import export_sdl

    sys.stdout.write(export_sdl())
    return 0


def _seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from server.demo import seed_demo

    for line in _with_database(settings, seed_demo):
        print(line)
    return 0


def _with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        if settings.is_sqlite:
            await apply_migrations(settings.database_url)
        await open_database(settings.database_url)
        try:
            return await work()
        finally:
            await close_database()

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
