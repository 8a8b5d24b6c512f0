"""What the server does with each operation's outcome (schema/observed.py): counts it
in the metrics (realtime/metrics.py), writes its line in the log (server/logs.py) and,
when tracing, names its span (server/tracing.py).

An operation's line: time, request id, user id, operation name and type, duration and
outcome code; nothing of its document, variables or answer.
"""

from __future__ import annotations

import time

import orjson

from realtime import metrics
from resolvers.ids import encode_id
from schema.observed import Outcome
from server.logs import timestamp, writer
from server.request_ids import current_request_id
from server.settings import LogFormat
from server.tracing import Tracing

LOGGER = "funnelgraph.operation"


class OperationObserver:
    def __init__(
        self, log_format: LogFormat, log_operations: bool, tracing: Tracing | None = None
    ) -> None:
        self._line = _json_line if log_format == "json" else _text_line
        self._log = log_operations
        self._tracing = tracing

    def __call__(self, outcome: Outcome) -> None:
        metrics.record_operation(outcome.type, outcome.name, outcome.code, outcome.seconds)
        if self._log:
            writer.write((self._line, time.time(), current_request_id(), outcome))
        if self._tracing is not None:
            self._tracing.operation(outcome, current_request_id())


def _json_line(at: float, request_id: str | None, outcome: Outcome) -> bytes:
    # Written out, not a dict through orjson: the one value a client chooses (the
    # operation's name) is encoded by orjson; request ids and user ids are made of
    # characters JSON needs no escape for (server/request_ids.py, resolvers/ids.py).
    name = outcome.name
    return (
        f'{{"time":"{timestamp(at)}","level":"INFO","logger":"{LOGGER}",'
        f'"message":"operation","request_id":{_string(request_id)},'
        f'"user_id":{_string(_user(outcome))},'
        f'"operation":{"null" if name is None else orjson.dumps(name).decode()},'
        f'"type":"{outcome.type}","duration_ms":{outcome.seconds * 1000:.3f},'
        f'"code":"{outcome.code}"}}\n'
    ).encode()


def _string(text: str | None) -> str:
    return "null" if text is None else f'"{text}"'


def _text_line(at: float, request_id: str | None, outcome: Outcome) -> bytes:
    return (
        f"{timestamp(at)} INFO {LOGGER}: {outcome.type} {outcome.name or '-'} "
        f"{outcome.code} {outcome.seconds * 1000:.1f} ms user={_user(outcome) or '-'} "
        f"[request {request_id}]\n"
    ).encode()


def _user(outcome: Outcome) -> str | None:
    return None if outcome.viewer_pk is None else encode_id("User", outcome.viewer_pk)
