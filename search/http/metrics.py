"""Prometheus metrics, one registry across gunicorn's worker processes.

Under gunicorn every worker writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` (``gunicorn_conf`` makes a fresh one per server and
marks dead workers), and a scrape of any worker aggregates them all. Without that
variable (tests calling the app in-process) the default registry is used.
The index gauges are set when scraped, from the scraping worker's current view.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

import falcon
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

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "search_http_requests_total", "HTTP requests answered.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "search_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
IN_PROGRESS = Gauge(
    "search_http_requests_in_progress",
    "Requests being answered now, by route, across the workers.",
    ["route"],
    multiprocess_mode="livesum",
)
RESULTS = Histogram(
    "search_results", "Matching articles per search.", buckets=(0, 1, 10, 100, 1000, 10000)
)

SHARD_FAILOVERS = Counter(
    "search_shard_failovers_total",
    "Replicas a worker stopped using mid-request, by shard and replica.",
    ["shard", "replica"],
)


def count_failover(shard: int, replica: str) -> None:
    SHARD_FAILOVERS.labels(str(shard), replica).inc()


EXPORTED = Counter("search_export_articles_total", "Articles /export handed to the server.")
EXPORTS = Counter(
    "search_exports_total",
    "Exports ended: done, error (a line says so), gone (the client left first).",
    ["outcome"],
)


def _index_gauge(name: str, documentation: str) -> Gauge:
    """A gauge of the served index: the value last set by any worker wins."""
    return Gauge(name, documentation, multiprocess_mode="mostrecent")


DOCUMENTS = _index_gauge("search_index_documents", "Articles in the served index.")
GENERATION = _index_gauge(
    "search_index_generation_created_seconds",
    "Creation time of the served index generation (its name is gen-<ns>).",
)
COMMIT = _index_gauge("search_index_commit", "Commit number within the served generation.")
LAST_REINDEX = _index_gauge(
    "search_index_last_reindex_seconds", "When the served index was last written (Unix time)."
)

PUSHED = _index_gauge("search_pushes_logged", "Entries (pushes and deletes) in the push log.")
APPLIED = _index_gauge("search_pushes_applied", "Push log entries the writer has committed.")
PENDING = _index_gauge("search_pushes_pending", "Push log entries not yet committed.")
OLDEST_PENDING = _index_gauge(
    "search_pushes_oldest_pending_seconds", "Age of the oldest entry not yet committed (0: none)."
)


class MetricsMiddleware:
    """Counts and times every request by route template and status."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
    ) -> None:
        req.context.in_progress = IN_PROGRESS.labels(req.uri_template or UNMATCHED)
        req.context.in_progress.inc()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        route = req.uri_template or UNMATCHED
        status = str(resp.status_code)
        REQUESTS.labels(route, req.method, status).inc()
        in_progress = getattr(req.context, "in_progress", None)
        if in_progress is not None:
            in_progress.dec()
        started = getattr(req.context, "started", None)
        if started is not None:
            LATENCY.labels(route, status).observe(time.perf_counter() - started)


def record_index(stats: dict[str, Any]) -> None:
    """Set the index gauges from ``SearchService.stats()``."""
    DOCUMENTS.set(stats["documents"])
    COMMIT.set(stats["commit"])
    LAST_REINDEX.set(dt.datetime.fromisoformat(stats["built_at"]).timestamp())
    generation = str(stats["generation"])
    if generation.startswith("gen-"):  # a sharded index has no local generations
        GENERATION.set(int(generation.removeprefix("gen-")) / 1e9)


def record_pushes(counts: dict[str, Any]) -> None:
    """Set the push log's gauges from ``PushLog.counts()``."""
    PUSHED.set(counts["pushed"])
    APPLIED.set(counts["applied"])
    PENDING.set(counts["pending"])
    OLDEST_PENDING.set(counts["oldest_pending_s"] or 0)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every process's metrics, and its content type."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
