"""POST /graphql with one query or mutation in a JSON body, answered without
Strawberry's HTTP view.

Most of a client's requests are this one shape, and on a simple query the view's
parsing, adapters and response objects cost more than the operation. Here the body is
read with orjson, the operation runs through schema/direct_operation.py, and the
answer goes out as two ASGI messages, exactly as the view would answer it: same JSON,
media type and status (server/graphql_response.py).

A document named by a persisted query's hash (or, in trusted documents mode, any
document) is looked up or checked first (server/persisted_queries.py). Anything else (a
batch, a body that is not an object of the usual members, a document that does not
parse, a subscription, a client asking for a stream) goes to the view with its body
replayed, and gets the view's answer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from strawberry.http import process_result

from resolvers.context import Context
from schema.direct_operation import direct_operation, run_direct
from schema.observed import report
from schema.schema import Schema
from server import request_ids
from server.graphql_response import asks_for_graphql_response, http_answer
from server.http_guard import read_body, replay
from server.persisted_queries import PersistedQueries, PersistedQueryRefused
from server.request_headers import headers_of

ContextFactory = Callable[[Request, None], Awaitable[Context]]
_MIXED, _EVENT_STREAM = b"multipart/mixed", b"text/event-stream"  # streamed answers


def takes(scope: Scope) -> bool:
    """Whether the request may be ours: a POST (the guard let only JSON through) whose
    client does not ask for a streamed answer."""
    if scope["method"] != "POST":
        return False
    accept = _accept(scope)
    return _MIXED not in accept and _EVENT_STREAM not in accept


def _accept(scope: Scope) -> bytes:
    return headers_of(scope).get(b"accept", b"")


async def answer_directly(
    schema: Schema,
    context_of: ContextFactory,
    persisted: PersistedQueries | None,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> Receive | None:
    """None once answered; else the receive to hand the view (the body replayed)."""
    body = await read_body(receive)  # the guard has bounded its size
    assert body is not None
    request = _request(body)
    if request is None:
        return replay(body, receive)
    query, variables, name, extensions = request
    started = time.perf_counter()
    if persisted is not None and (persisted.trusted or (extensions and _PERSISTED in extensions)):
        try:
            query = await persisted.document(query, extensions)
        except PersistedQueryRefused as refused:
            error = refused.as_graphql_error()
            report(schema.observer, "unknown", None, [error], started, None)
            await _answer(scope, send, {"data": None, "errors": [error.formatted]})
            return None
    operation = direct_operation(schema, query, variables, name) if isinstance(query, str) else None
    if operation is None:
        return replay(body, receive)
    context = await context_of(Request(scope, replay(body, receive)), None)
    try:
        result = await run_direct(schema, operation, context)
    finally:
        context.forget_reads()
    kind = operation.type.value
    report(schema.observer, kind, operation.declared, result.errors, started, context)
    await _answer(scope, send, process_result(result))
    return None


async def _answer(scope: Scope, send: Send, answer: Mapping[str, Any]) -> None:
    """Sends `answer` in the media type and with the status the client gets for it."""
    accept = _accept(scope).decode("latin-1")
    out = http_answer(answer, asks_for_graphql_response(accept))
    content = orjson.dumps(out.body)
    headers = [
        (b"content-type", out.content_type.encode()),
        (b"content-length", str(len(content)).encode()),
        request_ids.header(),
    ]
    if out.headers:
        headers += [(name.encode(), value.encode()) for name, value in out.headers]
    await send({"type": "http.response.start", "status": out.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


_Request = tuple[str | None, dict[str, Any] | None, str | None, dict[str, Any] | None]
_PERSISTED = "persistedQuery"


def _request(body: bytes) -> _Request | None:
    """The body's query, variables, operation name and extensions when it is the common
    shape (a query text, or none with a persisted query's hash), else None (the view
    decides)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    query = data.get("query")
    variables = data.get("variables")
    name = data.get("operationName")
    extensions = data.get("extensions")
    if (
        not isinstance(query, str | None)
        or not isinstance(variables, dict | None)
        or not isinstance(name, str | None)
        or not isinstance(extensions, dict | None)
    ):
        return None
    return query, variables, name, extensions
