"""The answer's media type and status, as GraphQL over HTTP says.

A client that asks for `application/graphql-response+json` (its Accept header names it,
at least as preferred as `application/json`) gets that type, and a status that tells a
request error from an executed operation: 400 with no `data` entry when the operation
was never executed (its document did not parse or validate, its variables did not
coerce, its shape was over a limit), 429, 503 or 500 when it was refused for its rate,
for the database or by a fault, and 200 once it ran, whatever errors its fields raised.
Every other client gets `application/json` and 200 for any GraphQL answer, as before
(503 when the database is away).

Either way, an answer refused for its rate or for the database says when to try again
in a Retry-After header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from starlette.responses import Response

from resolvers.errors import RateLimited, ServiceUnavailable
from server.request_ids import current_request_id

MEDIA_TYPE = "application/graphql-response+json"
_JSON = "application/json"
_GRAPHQL_RESPONSE = f"{MEDIA_TYPE}; charset=utf-8"
# A request error's status by its code; any other request error is the client's: 400.
_STATUS = {RateLimited.code: 429, ServiceUnavailable.code: 503, "INTERNAL_SERVER_ERROR": 500}


def asks_for_graphql_response(accept: str | None) -> bool:
    """Whether the Accept header prefers `application/graphql-response+json`: named
    with a quality above 0, and not below `application/json`'s. A missing header, `*/*`
    or `application/json` alone keep `application/json`."""
    if not accept or MEDIA_TYPE not in accept.lower():
        return False
    wanted = _quality(accept, MEDIA_TYPE)
    return wanted > 0 and wanted >= _quality(accept, _JSON)


class HttpAnswer(NamedTuple):  # one per request: a tuple is the cheapest to make
    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: Mapping[str, Any]


def http_answer(answer: Mapping[str, Any], graphql_response: bool) -> HttpAnswer:
    """How `answer` (an operation's result, as Strawberry formats it) goes out."""
    if not answer.get("errors"):  # most answers
        return HttpAnswer(200, _GRAPHQL_RESPONSE if graphql_response else _JSON, (), answer)
    _name_request(answer["errors"])
    codes = [_code(error) for error in answer["errors"]]
    retry = _retry_after(answer, codes)
    headers = () if retry is None else (("retry-after", str(retry)),)
    if not graphql_response:
        status = 503 if ServiceUnavailable.code in codes else 200
        return HttpAnswer(status, _JSON, headers, answer)
    if not is_request_error(answer):
        return HttpAnswer(200, _GRAPHQL_RESPONSE, headers, answer)
    status = next((_STATUS[code] for code in codes if code in _STATUS), 400)
    body = {key: value for key, value in answer.items() if key != "data"}
    return HttpAnswer(status, _GRAPHQL_RESPONSE, headers, body)


def _name_request(errors: list[Any]) -> None:
    """Each error says which request it answers (server/request_ids.py)."""
    request_id = current_request_id()
    if request_id is None:
        return
    for error in errors:
        if isinstance(error, dict):
            extensions = error.get("extensions")
            if not isinstance(extensions, dict):
                extensions = error["extensions"] = {}
            extensions["requestId"] = request_id


def as_response(answer: HttpAnswer, content: bytes | str) -> Response:
    """`answer` as a Starlette response, its body already encoded as `content`."""
    response = Response(content, answer.status, media_type=answer.content_type)
    response.headers.update(dict(answer.headers))
    return response


def is_request_error(answer: Mapping[str, Any]) -> bool:
    """An answer to an operation that never ran: no data, and errors that belong to no
    field (a field's error has the field's path)."""
    errors = answer.get("errors") or ()
    return (
        answer.get("data") is None
        and bool(errors)
        and all(isinstance(error, Mapping) and "path" not in error for error in errors)
    )


def _code(error: Any) -> object:
    extensions = error.get("extensions") if isinstance(error, Mapping) else None
    return extensions.get("code") if isinstance(extensions, Mapping) else None


def _retry_after(answer: Mapping[str, Any], codes: list[object]) -> int | None:
    """The longest wait a RATE_LIMITED or SERVICE_UNAVAILABLE error asks for."""
    waits = [
        seconds
        for error, code in zip(answer.get("errors") or (), codes, strict=True)
        if code in (RateLimited.code, ServiceUnavailable.code)
        and isinstance(seconds := error["extensions"].get("retryAfterSeconds"), int)
    ]
    if ServiceUnavailable.code in codes:
        waits.append(ServiceUnavailable.retry_after_seconds)
    return max(waits) if waits else None


def _quality(accept: str, media_type: str) -> float:
    """The quality the Accept header gives exactly `media_type` (0 when not named)."""
    best = 0.0
    for entry in accept.split(","):
        name, *parameters = (part.strip() for part in entry.split(";"))
        if name.lower() != media_type:
            continue
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = max(best, quality)
    return best
