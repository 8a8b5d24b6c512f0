"""Metrics, request ids and the log, as an operator sees them from a served process:
a Prometheus scrape after a scripted load, a JSON log read line by line, and no secret
in any line of it."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from models import Permission
from realtime import metrics
from server.app import create_app
from server.logs import PIPE_BUF, LineWriter
from server.settings import Environment
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import (
    PASSWORD,
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)
from tests.live import LiveClient, server_process

ME = "query Me { me { id name } }"
LOGIN = "mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
CONTACT = "query Contact($id: ID!) { node(id: $id) { ... on Customer { phone email } } }"
NEW_CUSTOMER = """
mutation NewCustomer($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }
"""
MOVE = """
mutation Move($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { version } }
"""
EVENTS = "subscription Board($id: ID!) { campaignEvents(campaignId: $id) { seq } }"
METRICS_TOKEN = "scrape-token-of-the-test"
SERIES = (
    "funnelgraph_operations",
    "funnelgraph_operation_duration_seconds",
    "funnelgraph_websockets_open",
    "funnelgraph_subscriptions_active",
    "funnelgraph_event_delivery_lag_seconds",
    "funnelgraph_publishes",
    "funnelgraph_publish_failures",
    "funnelgraph_webhook_deliveries",
    "funnelgraph_rate_limited",
    "funnelgraph_db_pool_in_use",
)
# A new customer's contact fields, sent as variables: they must reach no log line.
NEW_PHONE = "+84 91 555 0199"
NEW_EMAIL = "private.buyer@example.net"


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Each metric family's samples (name and labels -> value), by sample name."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        found.setdefault(family.name, [])
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(
    found: dict[str, list[tuple[dict[str, str], float]]], series: str, **labels: str
) -> float:
    """The sum of `series`' samples with these labels."""
    return sum(
        v for got, v in found.get(series, []) if all(got.get(k) == x for k, x in labels.items())
    )


async def test_a_scrape_counts_the_load_and_the_log_names_every_operation_and_no_secret(
    app: Any, database_url: str, tmp_path: Path
) -> None:
    # given a team whose customer has contact fields, on a served production process
    manager = await make_user(*Permission)
    customer = await make_customer(manager)
    campaign = await make_campaign(manager)
    card = await make_opportunity(campaign, customer, owner=manager)
    target = (await stages_of(campaign))[1]
    log = tmp_path / "server.log"
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "FUNNELGRAPH_ENV": "production",
        "LOG_OPERATIONS": "on",
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOGIN_FAILURES_PER_EMAIL": "1",
    }
    with server_process(tmp_path, log, **env) as (base, _server):
        async with httpx.AsyncClient(base_url=base) as http:

            async def ask(
                query: str, variables: dict[str, Any] | None = None, **headers: str
            ) -> httpx.Response:
                body = {"query": query, "variables": variables or {}}
                return await http.post("/graphql", json=body, headers=headers)

            # when a client signs in, reads, writes and follows the board
            login = await ask(LOGIN, {"e": manager.email, "p": PASSWORD})
            token = login.json()["data"]["login"]["token"]
            bearer = {"authorization": f"Bearer {token}"}
            for _ in range(5):
                assert (await ask(ME, **bearer)).json()["data"]["me"]["id"] == gid("User", manager)
            traced = await ask(ME, **bearer, **{"x-request-id": "trace-42"})
            contact = await ask(CONTACT, {"id": gid("Customer", customer)}, **bearer)
            assert contact.json()["data"]["node"]["phone"] == customer.phone
            created = await ask(
                NEW_CUSTOMER,
                {"input": {"name": "Buyer", "phone": NEW_PHONE, "email": NEW_EMAIL}},
                **bearer,
            )
            assert "errors" not in created.json(), created.text
            refused = [await ask(ME) for _ in range(3)]
            wrong = [await ask(LOGIN, {"e": manager.email, "p": "a wrong guess"}) for _ in range(2)]
            live = await LiveClient.connect(base, token)
            await live.subscribe(EVENTS, {"id": gid("Campaign", campaign)})
            await asyncio.sleep(0.5)
            move = {"id": gid("Opportunity", card), "stageId": gid("Stage", target)}
            moved = await ask(MOVE, {"input": move}, **bearer)
            assert "errors" not in moved.json(), moved.text
            assert (await live.next_data())["campaignEvents"]["seq"] >= 1
            unauthorized = await http.get("/metrics")
            during = samples((await http.get("/metrics", headers=bearer_of(METRICS_TOKEN))).text)
            await live.close()
            await asyncio.sleep(0.5)
            after = samples((await http.get("/metrics", headers=bearer_of(METRICS_TOKEN))).text)
    lines = log.read_text().splitlines()

    # then a scrape needs the token, and counts what the load did
    assert unauthorized.status_code == 401
    assert all(name in during for name in SERIES), sorted(during)
    total = "funnelgraph_operations_total"
    assert value(during, total, type="query", name="Me", code="OK") == 6
    assert value(during, total, type="query", name="Me", code="UNAUTHENTICATED") == 3
    assert value(during, total, type="mutation", name="Login", code="OK") == 1
    assert value(during, total, type="mutation", name="Login", code="RATE_LIMITED") >= 1
    assert value(during, total, type="mutation", name="NewCustomer", code="OK") == 1
    assert value(during, total, type="mutation", name="Move", code="OK") == 1
    durations = "funnelgraph_operation_duration_seconds_count"
    assert value(during, durations, type="query", name="Me") == 9
    assert value(during, "funnelgraph_websockets_open") == 1
    assert value(during, "funnelgraph_subscriptions_active", field="campaignEvents") == 1
    assert value(during, "funnelgraph_event_delivery_lag_seconds_count") >= 1
    assert value(during, "funnelgraph_publishes_total") >= 1
    assert value(during, "funnelgraph_rate_limited_total", limit="login") >= 1
    assert value(after, "funnelgraph_websockets_open") == 0
    assert value(after, "funnelgraph_subscriptions_active", field="campaignEvents") == 0

    # and each answer and error carries its request id (and no server software's name)
    assert traced.headers["x-request-id"] == "trace-42"
    assert "server" not in traced.headers
    rejected = refused[0].json()["errors"][0]["extensions"]
    assert rejected["requestId"] == refused[0].headers["x-request-id"]
    assert len({answer.headers["x-request-id"] for answer in refused}) == 3
    assert wrong[-1].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"

    # and the log is JSON, line by line, with one line per operation
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    operations = [entry for entry in entries if entry["logger"] == "funnelgraph.operation"]
    mine = [entry for entry in operations if entry["operation"] == "Me" and entry["code"] == "OK"]
    assert len(mine) == 6
    assert all(entry["user_id"] == gid("User", manager) for entry in mine)
    assert all(entry["type"] == "query" and entry["duration_ms"] > 0 for entry in mine)
    assert [entry["request_id"] for entry in operations if entry["request_id"] == "trace-42"]
    [board] = [entry for entry in operations if entry["operation"] == "Board"]
    assert (board["type"], board["code"]) == ("subscription", "OK"), board
    assert board["duration_ms"] >= 500, board  # it lived at least until the move came
    signed_out = [
        entry
        for entry in operations
        if entry["code"] == "UNAUTHENTICATED" and entry["operation"] == "Me"
    ]
    assert len(signed_out) == 3 and all(entry["user_id"] is None for entry in signed_out)

    # and no line holds a password, a token or a contact field
    secrets = [PASSWORD, token, customer.phone, customer.email, NEW_PHONE, NEW_EMAIL]
    secrets += [token.split(".")[-1], "a wrong guess", TEST_SECRET, METRICS_TOKEN]
    leaks = [(secret, line) for line in lines for secret in secrets if secret and secret in line]
    assert leaks == []


def bearer_of(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_metrics_are_not_served_in_production_without_a_token_nor_when_off(
    database_url: str,
) -> None:
    for overrides in (
        {"environment": Environment.PRODUCTION, "metrics_token": None},
        {"metrics": False},
    ):
        app = create_app(make_settings(database_url, **overrides))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get("/metrics")).status_code == 404, overrides
    metrics.enabled = True


async def test_development_serves_metrics_to_anyone(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        await http.post("/graphql", json={"query": "query Anonymous { me { id } }"})
        scrape = await http.get("/metrics")
    assert scrape.status_code == 200
    found = samples(scrape.text)
    assert value(found, "funnelgraph_operations_total", name="Anonymous") >= 1


def test_operation_names_past_the_cap_count_as_other() -> None:
    names = [f"Generated{number}" for number in range(metrics.MAX_OPERATION_NAMES + 50)]
    labels = [metrics.operation_name(name) for name in names]
    assert metrics.OTHER in labels
    assert all(label in (name, metrics.OTHER) for label, name in zip(labels, names, strict=True))
    assert len(set(labels) - {metrics.OTHER}) <= metrics.MAX_OPERATION_NAMES


@given(st.lists(st.integers(min_value=0, max_value=6000), max_size=40))
def test_the_writer_writes_a_pipe_whole_lines_in_order_no_more_than_pipe_buf_at_once(
    sizes: list[int],
) -> None:
    # given lines of many lengths, and a pipe read as it fills
    lines = [bytes([65 + index % 26]) * size + b"\n" for index, size in enumerate(sizes)]
    read, write = os.pipe()
    received = bytearray()
    reader = threading.Thread(target=_read_all, args=(read, received))
    reader.start()
    # when they are written in one burst
    with _recording_writes() as writes:
        asyncio.run(_burst(LineWriter(write), lines))
    os.close(write)
    reader.join()
    os.close(read)
    # then they arrive whole and in order, in writes of whole lines, none above PIPE_BUF
    # unless it is one line
    assert bytes(received) == b"".join(lines)
    assert all(chunk.endswith(b"\n") for chunk in writes)
    assert all(len(chunk) <= PIPE_BUF or chunk.count(b"\n") == 1 for chunk in writes)


def test_the_writer_writes_a_file_in_one_write() -> None:
    lines = [b"x" * 3000 + b"\n"] * 5
    with tempfile.TemporaryFile() as sink, _recording_writes() as writes:
        asyncio.run(_burst(LineWriter(sink.fileno()), lines))
        sink.seek(0)
        assert sink.read() == b"".join(lines)
    assert writes == [b"".join(lines)]


async def _burst(writer: LineWriter, lines: list[bytes]) -> None:
    for line in lines:
        writer.write(line)  # in a running loop: they wait for one flush
    writer.flush()


@contextmanager
def _recording_writes() -> Iterator[list[bytes]]:
    writes: list[bytes] = []
    real_write = os.write

    def recording_write(fd: int, data: Any) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    os.write = recording_write  # type: ignore[assignment]
    try:
        yield writes
    finally:
        os.write = real_write


def _read_all(fd: int, into: bytearray) -> None:
    while part := os.read(fd, 1 << 16):
        into += part


def test_several_workers_are_scraped_as_one(database_url: str, tmp_path: Path) -> None:
    # given two worker processes sharing one port
    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}
    workers = ("--workers", "2")
    with server_process(tmp_path, tmp_path / "server.log", serve_args=workers, **env) as (
        base,
        _server,
    ):
        # when requests reach both of them (each process names its request ids)
        answered_by: set[str] = set()
        sent = 0
        while len(answered_by) < 2 and sent < 400:
            with httpx.Client(base_url=base) as fresh:  # a new connection each time
                answer = fresh.post("/graphql", json={"query": "query Anonymous { me { id } }"})
            answered_by.add(answer.headers["x-request-id"].split("-")[0])
            sent += 1
        time.sleep(1.5)  # each worker hands its counts over every second
        scrape = httpx.get(f"{base}/metrics").text
    # then one scrape counts the operations of both
    assert len(answered_by) == 2
    found = samples(scrape)
    assert value(found, "funnelgraph_operations_total", name="Anonymous") == sent
