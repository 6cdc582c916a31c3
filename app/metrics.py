"""Prometheus metrics (`prometheus_client`): what the people who run the service watch.

Counted where things happen: requests by method, route template and status (the access
log's middleware), time spent waiting for a pooled database connection and the waits
that timed out (`MeasuredPool`), connections in use, open live streams, worker rounds and
webhook attempts, crashed background loops. The webhook queue (depth, age of the oldest
undelivered delivery) is read from the database at each scrape (`queue_registry`): every
process sees the same queue, whoever fills or drains it.

Several server processes (`consulta serve` with WORKERS > 1) share their counts through
`prometheus_client`'s multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set (`consulta
serve` sets it when it starts more than one worker), each process writes its values to
files there and any process's /metrics sums them (`render`).
"""

from __future__ import annotations

import hmac
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Requests that matched no route are counted under this one label, not their path: a
# scanner's random paths must not grow the number of series.
UNMATCHED_ROUTE = "(unmatched)"

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_WAIT_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "consulta_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "consulta_http_request_duration_seconds",
    "Time from receiving a request to the end of its answer, by method, route and status.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
DB_POOL_WAIT = Histogram(
    "consulta_db_pool_wait_seconds",
    "Time to get a database connection from the pool (opening one if need be).",
    buckets=_WAIT_BUCKETS,
)
DB_POOL_TIMEOUTS = Counter(
    "consulta_db_pool_timeouts",
    "Waits for a pooled connection that ran past DB_POOL_TIMEOUT_SECONDS (answered 503).",
)
DB_POOL_IN_USE = Gauge(
    "consulta_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "consulta_db_pool_capacity",
    "The most connections the pool may hold (DB_POOL_SIZE + DB_MAX_OVERFLOW).",
    multiprocess_mode="livesum",
)
DB_ERRORS = Counter(
    "consulta_database_errors",
    "Requests answered 503 because of the database, by problem code.",
    ["code"],
)
LIVE_STREAMS = Gauge(
    "consulta_live_streams",
    "Open live (SSE) streams.",
    multiprocess_mode="livesum",
)
WORKER_ROUNDS = Counter(
    "consulta_worker_rounds",
    "Worker rounds (dispatch the outbox, send what is due), by outcome (ok, failed).",
    ["outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "consulta_webhook_attempts",
    "Webhook delivery attempts, by outcome (succeeded, failed).",
    ["outcome"],
)
BACKGROUND_FAILURES = Counter(
    "consulta_background_failures",
    "Crashes of background loops (each restarted after a pause), by task.",
    ["task"],
)


class MeasuredPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool, measuring checkouts: wait time, timeouts, use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        DB_POOL_CAPACITY.set(self.size() + max(self._max_overflow, 0))

    def _do_get(self) -> ConnectionPoolEntry:
        started = time.perf_counter()
        try:
            entry = super()._do_get()
        except PoolTimeout:
            DB_POOL_TIMEOUTS.inc()
            raise
        finally:
            DB_POOL_WAIT.observe(time.perf_counter() - started)
        DB_POOL_IN_USE.set(self.checkedout())
        return entry

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        super()._do_return_conn(record)
        DB_POOL_IN_USE.set(self.checkedout())


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    labels = (method, route or UNMATCHED_ROUTE, str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_LATENCY.labels(*labels).observe(seconds)


@dataclass(frozen=True)
class QueueStats:
    """The webhook queue: deliveries waiting to be sent (to active endpoints)."""

    pending: int
    retrying: int
    oldest: datetime | None


class _Snapshot(Collector):
    """Gauges computed at scrape time from the database (not stored in any process)."""

    def __init__(self, queue: QueueStats | None, now: datetime) -> None:
        self.queue = queue
        self.now = now

    def collect(self) -> Any:
        up = GaugeMetricFamily(
            "consulta_database_up", "Whether the database answered this scrape (1) or not (0)."
        )
        up.add_metric([], 1 if self.queue is not None else 0)
        yield up
        if self.queue is None:
            return
        depth = GaugeMetricFamily(
            "consulta_webhook_queue_depth",
            "Webhook deliveries not yet delivered nor given up, by status.",
            labels=["status"],
        )
        depth.add_metric(["pending"], self.queue.pending)
        depth.add_metric(["retrying"], self.queue.retrying)
        yield depth
        age = GaugeMetricFamily(
            "consulta_webhook_oldest_undelivered_age_seconds",
            "Age of the oldest webhook delivery not yet delivered nor given up (0: none).",
        )
        oldest = self.queue.oldest
        age.add_metric([], max((self.now - oldest).total_seconds(), 0.0) if oldest else 0.0)
        yield age


def queue_registry(queue: QueueStats | None, now: datetime) -> CollectorRegistry:
    """The scrape-time gauges; `queue` None when the database could not be read."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(queue, now))
    return registry


def render(*extra: CollectorRegistry) -> bytes:
    """The text exposition of this process's metrics (of every process's, in
    multiprocess mode), followed by `extra` registries."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    return b"".join([generate_latest(registry), *(generate_latest(r) for r in extra)])


def mark_process_dead() -> None:
    """Drop this process's live gauges (multiprocess mode), when it stops cleanly."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def token_matches(configured: str, authorization: str | None) -> bool:
    """Whether an `Authorization` header carries the metrics token (constant time)."""
    if not configured or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), configured.encode())
