"""The process's Prometheus metrics: one home for their names, which dashboards are
built on, so they change only with a note in the README.

Every layer records here (imports point down: this module imports nothing of ours);
the server serves them at GET /metrics (server/metrics_endpoint.py). With several
worker processes (PROMETHEUS_MULTIPROC_DIR set before they start) each writes its
values to a file there and a scrape adds them up; gauges then sum the live processes'.

`enabled` False (METRICS=off) makes every recorder return at once. An operation is
counted on the request path in plain Python (a dict entry and a bucket: about a
microsecond in the server, where prometheus-client's counter and histogram cost about
four, a lock per value); `flush_operations` hands the counts to prometheus-client,
at each scrape of this process and every second (server/metrics_endpoint.py), so a
scrape that another worker answers sees this one's operations at most a second late.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

enabled = True  # the server sets it from METRICS before the first request

OPERATIONS = Counter(
    "funnelgraph_operations",
    "GraphQL operations answered, by type, operation name and outcome code (OK or the "
    "first error's extensions.code).",
    ["type", "name", "code"],
)
OPERATION_DURATION = Histogram(
    "funnelgraph_operation_duration_seconds",
    "Time from a parsed request to its answer, by operation type and name.",
    ["type", "name"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKETS_OPEN = Gauge(
    "funnelgraph_websockets_open", "Websocket connections open.", multiprocess_mode="livesum"
)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "funnelgraph_subscriptions_active",
    "Live subscriptions running, by root field.",
    ["field"],
    multiprocess_mode="livesum",
)
EVENT_DELIVERY_LAG = Histogram(
    "funnelgraph_event_delivery_lag_seconds",
    "From an event's commit to its frames going out, once per group of subscribers "
    "that share one execution (schema/live_groups.py).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PUBLISHES = Counter(
    "funnelgraph_publishes", "Messages published to the other processes (Redis or memory)."
)
PUBLISH_FAILURES = Counter(
    "funnelgraph_publish_failures",
    "Publishes that failed (Redis away): streams then find the rows in the log.",
)
WEBHOOK_DELIVERIES = Counter(
    "funnelgraph_webhook_deliveries", "Webhook delivery attempts, by outcome.", ["outcome"]
)
RATE_LIMITED = Counter(
    "funnelgraph_rate_limited", "Requests refused with RATE_LIMITED, by limit.", ["limit"]
)
DB_POOL_IN_USE = Gauge(
    "funnelgraph_db_pool_in_use",
    "Database connections lent out of the pool (sampled).",
    multiprocess_mode="livesum",
)

# A client names its operations: past this many names, the rest count as "other", so
# that no client can grow the series without bound.
MAX_OPERATION_NAMES = 500
OTHER = "other"
_names: set[str] = set()


def operation_name(name: str | None) -> str:
    """The `name` label for an operation's name (anonymous: empty)."""
    if not name:
        return ""
    if name in _names:
        return name
    if len(_names) >= MAX_OPERATION_NAMES:
        return OTHER
    _names.add(name)
    return name


_BOUNDS = tuple(OPERATION_DURATION._upper_bounds)  # the buckets' upper bounds, +Inf last
_counted: dict[tuple[str, str, str], int] = {}
# Per (type, name): the count of each bucket (not cumulative), then the sum of seconds.
_timed: dict[tuple[str, str], list[float]] = {}


def record_operation(type_: str, name: str | None, code: str, seconds: float) -> None:
    if not enabled:
        return
    label = operation_name(name)
    key = (type_, label, code)
    _counted[key] = _counted.get(key, 0) + 1
    timed = _timed.get((type_, label))
    if timed is None:
        timed = _timed[(type_, label)] = [0.0] * (len(_BOUNDS) + 1)
    timed[bisect_left(_BOUNDS, seconds)] += 1
    timed[-1] += seconds


def flush_operations() -> None:
    """The operations counted since the last flush, into prometheus-client's series."""
    counted, timed = dict(_counted), dict(_timed)
    _counted.clear()
    _timed.clear()
    for labels, count in counted.items():
        OPERATIONS.labels(*labels).inc(count)
    for pair, buckets in timed.items():
        child = OPERATION_DURATION.labels(*pair)
        # What Histogram.observe does for one value, for many at once (its own
        # attributes: prometheus-client has no call that adds a bucket's count).
        for index, times in enumerate(buckets[:-1]):
            if times:
                child._buckets[index].inc(times)
        child._sum.inc(buckets[-1])


def counted(counter: Counter) -> None:
    if enabled:
        counter.inc()


def webhook_delivery(outcome: str) -> None:
    """One attempt to deliver to a webhook: `delivered` or `failed`."""
    if enabled:
        WEBHOOK_DELIVERIES.labels(outcome).inc()


def rate_limited(limit: str) -> None:
    if enabled:
        RATE_LIMITED.labels(limit).inc()


@contextmanager
def subscription(field: str) -> Iterator[None]:
    """One live subscription of `field` running while inside."""
    if not enabled:
        yield
        return
    gauge = SUBSCRIPTIONS_ACTIVE.labels(field)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
