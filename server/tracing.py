"""OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set (the `tracing` extra):
a span per GraphQL operation and, on PostgreSQL, one per SQL statement inside it.

An HTTP request's span is opened when the request comes in and is current while it
runs, so the statements it runs are its children; once answered it is named after the
operation (`query Me`) and carries its type, name, outcome code and request id. A live
subscription gets its span when it ends, spanning its life. A SQL span carries the
statement's text (its `$n` marks, never the values) and how long it took, from
asyncpg's query logger (SQLite has none: no SQL spans there).

Without the setting nothing here runs, and OpenTelemetry is not even imported.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from resolvers.ids import encode_id
from schema.observed import Outcome

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

HTTP_SPAN = "POST /graphql"
INSTRUMENTATION = "funnelgraph"


class Tracing:
    """Spans for one app, from `provider` (its exporter decides where they go)."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer(INSTRUMENTATION)

    @classmethod
    def from_endpoint(cls, endpoint: str | None) -> Tracing | None:
        """OTLP over HTTP to `endpoint` (the exporter reads the other OTEL_* variables
        itself), or None when it is not set."""
        if not endpoint:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": "funnelgraph"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        return cls(provider)

    @contextmanager
    def request(self, request_id: str) -> Iterator[None]:
        """The current request's span, while it runs."""
        from opentelemetry import trace

        with self._tracer.start_as_current_span(
            HTTP_SPAN, kind=trace.SpanKind.SERVER, attributes={"funnelgraph.request_id": request_id}
        ):
            yield

    def operation(self, outcome: Outcome, request_id: str | None) -> None:
        """Names the current request's span after its operation; a subscription (no
        request span) gets a span of its own, over its life."""
        from opentelemetry import trace

        attributes = _attributes(outcome, request_id)
        span = trace.get_current_span()
        if span.is_recording() and getattr(span, "name", None) == HTTP_SPAN:
            span.update_name(_name(outcome))
            span.set_attributes(attributes)
            _mark_failure(span, outcome)
            return
        ended = time.time_ns()
        span = self._tracer.start_span(
            _name(outcome),
            start_time=ended - int(outcome.seconds * 1e9),
            attributes=attributes,
        )
        _mark_failure(span, outcome)
        span.end(end_time=ended)

    def statement(self, record: Any) -> None:
        """asyncpg's query logger: a span for the statement just run (a LoggedQuery)."""
        from opentelemetry import trace

        ended = time.time_ns()
        span = self._tracer.start_span(
            "SQL",
            kind=trace.SpanKind.CLIENT,
            start_time=ended - int(record.elapsed * 1e9),
            attributes={"db.system": "postgresql", "db.statement": record.query},
        )
        if record.exception is not None:
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(record.exception).__name__))
        span.end(end_time=ended)

    def shutdown(self) -> None:
        self.provider.shutdown()  # exports what the batch still holds


def _name(outcome: Outcome) -> str:
    return f"{outcome.type} {outcome.name}" if outcome.name else outcome.type


def _attributes(outcome: Outcome, request_id: str | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "graphql.operation.type": outcome.type,
        "graphql.operation.name": outcome.name or "",
        "funnelgraph.code": outcome.code,
    }
    if request_id is not None:
        attributes["funnelgraph.request_id"] = request_id
    if outcome.viewer_pk is not None:
        attributes["enduser.id"] = encode_id("User", outcome.viewer_pk)
    return attributes


def _mark_failure(span: Span, outcome: Outcome) -> None:
    from opentelemetry import trace

    if outcome.code != "OK":
        span.set_status(trace.Status(trace.StatusCode.ERROR, outcome.code))
