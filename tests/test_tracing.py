"""Traces, read from an in-memory exporter: a span per operation named after it, the
SQL it ran as its children (PostgreSQL), and no value of a request in any span."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from models import Permission
from schema.observed import Outcome
from server.app import create_app
from server.auth import JwtTokens
from server.tracing import Tracing
from tests.conftest import BACKEND, TEST_SECRET, _empty_tables, make_settings
from tests.factories import gid, make_customer, make_user

CONTACT = "query Contact($id: ID!) { node(id: $id) { ... on Customer { name phone email } } }"


@pytest.fixture
def spans() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Tracing(provider), exporter
    provider.shutdown()


async def test_an_operation_is_a_span_with_its_statements_as_children(
    database_url: str, spans: tuple[Tracing, InMemorySpanExporter]
) -> None:
    # given a traced app and a customer with contact fields
    tracing, exporter = spans
    app = create_app(make_settings(database_url), tracing)
    async with app.router.lifespan_context(app):
        await _empty_tables(database_url)
        viewer = await make_user(*Permission)
        customer = await make_customer(viewer)
        token = JwtTokens(TEST_SECRET, 3600).issue(viewer).token
        exporter.clear()
        # when a client reads the customer's contact fields
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answer = await http.post(
                "/graphql",
                json={"query": CONTACT, "variables": {"id": gid("Customer", customer)}},
                headers={"authorization": f"Bearer {token}", "x-request-id": "trace-me"},
            )
    assert answer.json()["data"]["node"]["phone"] == customer.phone
    finished = exporter.get_finished_spans()

    # then the request is one span, named after its operation
    [operation] = [span for span in finished if span.name == "query Contact"]
    assert dict(operation.attributes or {}) == {
        "funnelgraph.request_id": "trace-me",
        "graphql.operation.type": "query",
        "graphql.operation.name": "Contact",
        "funnelgraph.code": "OK",
        "enduser.id": gid("User", viewer),
    }
    # and on PostgreSQL each statement it ran is a child span, with its text only
    children = [span for span in finished if _parent(span) == operation.context.span_id]
    if BACKEND == "postgres":
        assert children and all(span.name == "SQL" for span in children)
        statements = [str((span.attributes or {})["db.statement"]) for span in children]
        assert any("customer" in statement for statement in statements), statements
    else:  # SQLite has no query logger
        assert children == []
    # and no span holds a value of the request
    values = [customer.phone, customer.email, customer.name, token]
    text = repr([(span.name, dict(span.attributes or {})) for span in finished])
    assert [value for value in values if value and value in text] == []


async def test_a_failed_operation_is_marked_and_a_subscription_spans_its_life(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = spans
    tracing.operation(Outcome("subscription", "Board", "FORBIDDEN", 12.5, 7), "r-1")
    [span] = exporter.get_finished_spans()
    assert span.name == "subscription Board"
    assert span.status.status_code.name == "ERROR" and span.status.description == "FORBIDDEN"
    assert span.end_time is not None and span.start_time is not None
    assert span.end_time - span.start_time == pytest.approx(12.5e9, rel=1e-6)


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None
