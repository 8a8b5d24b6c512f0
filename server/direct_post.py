"""POST /graphql with one query or mutation in a JSON body, answered without
Strawberry's HTTP view.

Most of a client's requests are this one shape, and on a simple query the view's
parsing, adapters and response objects cost more than the operation. Here the body is
read with orjson, the operation runs through schema/direct_operation.py, and the
answer goes out as two ASGI messages, exactly as the view would answer it: same JSON,
status 200, or 503 with Retry-After when the answer carries SERVICE_UNAVAILABLE.

Anything else (a batch, a body that is not an object of the usual members, a document
that does not parse, a subscription, a client asking for a stream) goes to the view
with its body replayed, and gets the view's answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from strawberry.http import process_result

from resolvers.context import Context
from resolvers.errors import ServiceUnavailable
from schema.direct_operation import Operation, direct_operation, run_direct
from schema.schema import Schema
from server.http_guard import read_body, replay
from server.outage import answers_unavailable

ContextFactory = Callable[[Request, None], Awaitable[Context]]
_STREAMS = (b"multipart/mixed", b"text/event-stream")
_JSON = [(b"content-type", b"application/json")]
_UNAVAILABLE = [(b"retry-after", str(ServiceUnavailable.retry_after_seconds).encode())]


def takes(scope: Scope) -> bool:
    """Whether the request may be ours: a POST (the guard let only JSON through) whose
    client does not ask for a streamed answer."""
    if scope["method"] != "POST":
        return False
    for name, value in scope["headers"]:
        if name == b"accept" and any(stream in value for stream in _STREAMS):
            return False
    return True


async def answer_directly(
    schema: Schema, context_of: ContextFactory, scope: Scope, receive: Receive, send: Send
) -> Receive | None:
    """None once answered; else the receive to hand the view (the body replayed)."""
    body = await read_body(receive)  # the guard has bounded its size
    assert body is not None
    operation = _operation(schema, body)
    if operation is None:
        return replay(body, receive)
    context = await context_of(Request(scope, replay(body, receive)), None)
    try:
        result = await run_direct(schema, operation, context)
    finally:
        context.forget_reads()
    answer = process_result(result)
    unavailable = answers_unavailable(answer)
    content = orjson.dumps(answer)
    await send(
        {
            "type": "http.response.start",
            "status": 503 if unavailable else 200,
            "headers": [
                *_JSON,
                (b"content-length", str(len(content)).encode()),
                *(_UNAVAILABLE if unavailable else ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
    return None


def _operation(schema: Schema, body: bytes) -> Operation | None:
    """The body's operation when it is the common shape and this path runs it, else None
    (the view decides)."""
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
        not isinstance(query, str)
        or not isinstance(variables, dict | None)
        or not isinstance(name, str | None)
        or not isinstance(extensions, dict | None)
    ):
        return None
    return direct_operation(schema, query, variables, name)
