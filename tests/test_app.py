"""The HTTP surface beside GraphQL: health probes, and the development-only GraphiQL and
schema."""

from __future__ import annotations

import gc

import httpx

from schema.schema import export_sdl
from server.app import create_app
from server.collector import THRESHOLDS
from server.settings import Environment
from tests.conftest import make_settings
from tests.live import free_port, redis_server


async def _get(settings, path: str, **headers: str) -> httpx.Response:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.get(path, headers=headers)


async def test_readyz_reports_redis_down_with_503(database_url):
    settings = make_settings(database_url, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = await _get(settings, "/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "redis": False}


async def test_readyz_is_ready_when_database_and_redis_answer(database_url):
    with redis_server() as redis:
        response = await _get(make_settings(database_url, redis_url=redis.url), "/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "redis": True}


async def test_graphiql_is_served_in_development_only(database_url):
    development = await _get(make_settings(database_url), "/graphql", Accept="text/html")
    production = await _get(
        make_settings(database_url, environment=Environment.PRODUCTION),
        "/graphql",
        Accept="text/html",
    )
    assert development.status_code == 200
    assert "graphiql" in development.text.lower()
    assert production.status_code != 200 or "graphiql" not in production.text.lower()


async def test_the_schema_is_served_as_sdl_in_development_only(database_url):
    development = await _get(make_settings(database_url), "/graphql/schema.graphql")
    production = await _get(
        make_settings(database_url, environment=Environment.PRODUCTION), "/graphql/schema.graphql"
    )
    assert development.status_code == 200
    assert development.headers["content-type"].startswith("text/plain")
    assert development.text == export_sdl()  # what `funnelgraph export-schema` prints
    assert "type Query" in development.text
    assert production.status_code == 404


async def test_healthz_answers_while_the_process_is_up(database_url):
    response = await _get(make_settings(database_url), "/healthz")
    assert response.status_code == 200


async def test_the_served_process_collects_garbage_in_short_pauses_and_rarely_all_of_it(
    database_url,
):
    # given the collector at CPython's defaults (a young collection every 700 objects)
    gc.set_threshold(700, 10, 10)
    app = create_app(make_settings(database_url))
    # when the app starts
    async with app.router.lifespan_context(app):
        # then it runs with the thresholds server/collector.py explains, and what it
        # holds from its start is left out of full collections
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 10_000
    # and a stopped app gives it back to the collector
    assert gc.get_freeze_count() == 0


async def test_the_browser_client_is_served_from_this_origin_only(database_url):
    settings = make_settings(database_url, environment=Environment.PRODUCTION)
    page = await _get(settings, "/app/")
    assert page.status_code == 200 and 'src="app.js"' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "http" not in policy  # nothing from elsewhere
    script = await _get(settings, "/app/live.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "graphql-transport-ws" in script.text
    redirect = await _get(settings, "/app")
    assert (redirect.status_code, redirect.headers["location"]) == (308, "/app/")
    assert (await _get(settings, "/app/../server/settings.py")).status_code == 404
    assert (await _get(settings, "/app/missing.js")).status_code == 404
