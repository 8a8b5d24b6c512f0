"""Persisted queries: Apollo's automatic persisted queries over POST, GET and the
websocket, the hash verified, kept in Redis for every process; and the trusted
documents mode, which refuses any other document before parsing it."""

from __future__ import annotations

import hashlib
import json
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest

from realtime.query_store import MAX_DOCUMENT_CHARS, MemoryQueryStore
from server.app import create_app
from server.graphql_response import MEDIA_TYPE
from server.settings import Settings, SettingsError
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import gid, make_user
from tests.live import LiveClient, redis_server, serving
from tests.test_live import board, env, last_cursor, move, token_for

ME = "query Me { me { name } }"
EVENTS = """
subscription Seqs($campaignId: ID!, $after: String) {
  campaignEvents(campaignId: $campaignId, after: $after) { seq }
}
"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}


class Client:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    async def post(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        return await self.http.post("/graphql", json=body, headers={**self.headers, **headers})

    async def get(self, **params: Any) -> httpx.Response:
        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        return await self.http.get("/graphql", params=query, headers=self.headers)


@asynccontextmanager
async def client_of(settings: Settings, viewer) -> Any:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Client(http, token_for(viewer))


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


async def test_a_hash_is_unknown_until_its_query_is_sent_once_then_it_runs_alone(app, settings):
    viewer = await make_user(name="Ana")
    async with client_of(settings, viewer) as client:
        # a hash alone, never registered: not found (200 and null data for application/json,
        # 400 and no data for application/graphql-response+json)
        miss = await client.post({"extensions": persisted(ME)})
        assert codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert miss.status_code == 200 and miss.json()["data"] is None
        strict = await client.post({"extensions": persisted(ME)}, Accept=MEDIA_TYPE)
        assert strict.status_code == 400 and "data" not in strict.json()
        assert codes(strict) == ["PERSISTED_QUERY_NOT_FOUND"]
        # the text with its hash registers it and runs
        first = await client.post({"query": ME, "extensions": persisted(ME)})
        assert first.json() == {"data": {"me": {"name": "Ana"}}}
        # then the hash alone runs it, over POST and over GET
        again = await client.post({"extensions": persisted(ME)})
        assert again.json() == {"data": {"me": {"name": "Ana"}}}
        got = await client.get(extensions=persisted(ME))
        assert got.status_code == 200
        assert got.json() == {"data": {"me": {"name": "Ana"}}}


async def test_a_hash_that_is_not_the_querys_is_refused_and_registers_nothing(app, settings):
    viewer = await make_user()
    other = "query Other { me { id } }"
    async with client_of(settings, viewer) as client:
        lying = await client.post({"query": other, "extensions": persisted(ME)})
        assert codes(lying) == ["BAD_USER_INPUT"]
        assert "does not match" in lying.json()["errors"][0]["message"]
        assert codes(await client.post({"extensions": persisted(ME)})) == [
            "PERSISTED_QUERY_NOT_FOUND"
        ]


@pytest.mark.parametrize(
    "extension",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": sha256(ME)}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": "yes"},
    ],
    ids=["version", "hash", "no hash", "not an object"],
)
async def test_a_malformed_persisted_query_extension_is_refused(app, settings, extension):
    viewer = await make_user()
    async with client_of(settings, viewer) as client:
        assert codes(await client.post({"query": ME, "extensions": extension})) == [
            "BAD_USER_INPUT"
        ]


async def test_a_subscription_named_by_its_hash_runs_over_the_websocket(
    app, database_url, tmp_path
):
    manager, _seller, campaign, stages, card = await board(app)
    token = token_for(manager)
    with serving(tmp_path, **env(database_url)) as base:
        variables = {
            "campaignId": gid("Campaign", campaign),
            "after": await last_cursor(base, token, campaign),
        }
        client = await LiveClient.connect(base, token)
        # an unknown hash: the operation gets an error message
        await client.socket.send(json.dumps(_subscribe("1", None, variables)))
        refused = await client.receive()
        assert refused["type"] == "error" and refused["id"] == "1"
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        # registered with its text once, then the hash alone subscribes
        await client.socket.send(json.dumps(_subscribe("2", EVENTS, variables)))
        await client.socket.send(json.dumps(_subscribe("3", None, variables)))
        await move(base, token, card, stages[1])
        messages = [await client.receive() for _ in range(2)]
        await client.close()
    assert sorted(m["id"] for m in messages) == ["2", "3"]
    assert all(m["payload"]["data"]["campaignEvents"]["seq"] == 1 for m in messages)


def _subscribe(op_id: str, query: str | None, variables: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {"variables": variables, "extensions": persisted(EVENTS)}
    if query is not None:
        payload["query"] = query
    return {"id": op_id, "type": "subscribe", "payload": payload}


@pytest.mark.postgres_only
async def test_a_query_registered_on_one_process_runs_by_hash_on_another(app, database_url):
    viewer = await make_user(name="Bo")
    with redis_server() as redis:
        settings = make_settings(database_url, redis_url=redis.url)
        async with AsyncExitStack() as stack:
            one = await stack.enter_async_context(client_of(settings, viewer))
            two = await stack.enter_async_context(client_of(settings, viewer))
            await one.post({"query": ME, "extensions": persisted(ME)})
            answer = await two.post({"extensions": persisted(ME)})
    assert answer.json() == {"data": {"me": {"name": "Bo"}}}


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps({sha256(ME): ME, "sha256:" + sha256(EVENTS): EVENTS}))
    return path


async def test_trusted_documents_run_and_nothing_else_does(app, database_url, manifest):
    viewer = await make_user(name="Cy")
    settings = make_settings(
        database_url,
        trusted_documents=Settings.from_env(
            {
                "DATABASE_URL": database_url,
                "SECRET_KEY": TEST_SECRET,
                "TRUSTED_DOCUMENTS": str(manifest),
            }
        ).trusted_documents,
    )
    async with client_of(settings, viewer) as client:
        # a trusted document runs, sent by its id or as its text
        by_id = await client.post({"extensions": persisted(ME)})
        as_text = await client.post({"query": ME})
        assert by_id.json() == as_text.json() == {"data": {"me": {"name": "Cy"}}}
        # any other text is refused before it is parsed: malformed, it is not a parse error
        for other in ("{ me { id } }", "{ me {"):
            assert codes(await client.post({"query": other})) == ["PERSISTED_QUERY_NOT_FOUND"]
        # nothing can be registered: the other text with its own hash is refused too
        other = "{ me { id } }"
        registering = {"query": other, "extensions": persisted(other)}
        assert codes(await client.post(registering)) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert codes(await client.get(query=other)) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_an_unreadable_trusted_documents_manifest_stops_the_start(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]")
    for path, message in ((tmp_path / "missing.json", "cannot be read"), (broken, "JSON object")):
        with pytest.raises(SettingsError, match=message):
            Settings.from_env({"TRUSTED_DOCUMENTS": str(path), "SECRET_KEY": TEST_SECRET})


async def test_the_memory_store_keeps_the_most_recently_used_within_its_bounds():
    store = MemoryQueryStore(max_kept=3, max_chars=12)
    for name in "abc":
        await store.put(name, name * 3)  # 9 characters in all
    assert await store.get("a") == "aaa"  # a is now the most recently used
    await store.put("d", "dddd")  # 13 characters: b, the least recently used, goes
    assert await store.get("b") is None
    await store.put("e", "e")  # a fourth document: past max_kept, c (now the least) goes
    assert await store.get("c") is None
    await store.put("huge", "x" * (MAX_DOCUMENT_CHARS + 1))  # never kept
    assert await store.get("huge") is None
    assert [await store.get(name) for name in "ade"] == ["aaa", "dddd", "e"]
