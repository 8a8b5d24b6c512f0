"""Errors on streamed (websocket) results carry codes and hide internals, as over HTTP."""

from __future__ import annotations

from resolvers import subscriptions
from resolvers.context import Context
from schema.schema import build_schema
from server.auth import JwtTokens
from tests.conftest import TEST_SECRET
from tests.factories import make_user

MINE = "subscription { myNotifications { kind } }"


async def test_unexpected_error_in_a_stream_reaches_the_client_masked(bus, monkeypatch, caplog):
    # given a stream that fails inside with an internal detail
    viewer = await make_user()

    async def broken(context, after):
        raise RuntimeError("dsn=postgres://user:secret@db")
        yield  # pragma: no cover  (makes this an async generator)

    monkeypatch.setattr(subscriptions, "my_notifications", broken)
    context = Context(viewer=viewer, tokens=JwtTokens(TEST_SECRET, 60), bus=bus)
    # when
    sent = await _as_sent(MINE, context)
    # then
    assert sent == [("Internal server error", {"code": "INTERNAL_SERVER_ERROR"})]
    assert "secret" in caplog.text


async def test_expected_error_in_a_stream_keeps_its_code(bus):
    # given a signed-out context
    context = Context(viewer=None, tokens=JwtTokens(TEST_SECRET, 60), bus=bus)
    # when
    sent = await _as_sent(MINE, context)
    # then
    assert [extensions["code"] for _message, extensions in sent] == ["UNAUTHENTICATED"]


async def _as_sent(query: str, context: Context) -> list[tuple[str, dict]]:
    """Each error as a transport would send it: copied the moment its result arrives."""
    stream = await build_schema().subscribe(query, context_value=context)
    sent = []
    async for result in stream:
        sent += [(error.message, dict(error.extensions or {})) for error in result.errors or []]
    return sent
