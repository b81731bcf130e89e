"""Prometheus metrics: request counts and latencies by route, events ingested, snapshot age.

Each app gets its own :class:`prometheus_client.CollectorRegistry` (several apps in one process,
as in the tests, do not share counters). Requests are labelled by route *template*
(``/v1/users/{handle}/feed``), never by raw path, so a crawler cannot blow up the label set.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from ..snapshot.rebuild import RebuildStats

__all__ = ["CONTENT_TYPE", "Metrics", "MetricsMiddleware"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """The collectors of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "discovery_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "discovery_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.events = Counter(
            "discovery_events_ingested",
            "Events applied to the store, by kind (duplicates excluded).",
            ["kind"],
            registry=r,
        )
        self.duplicates = Counter(
            "discovery_events_duplicate", "Events ignored because their id was seen.", registry=r
        )
        self.refresh_seconds = Histogram(
            "discovery_snapshot_refresh_seconds",
            "Time to catch the in-memory snapshot up with the store.",
            buckets=_BUCKETS,
            registry=r,
        )
        self.snapshot_age = Gauge(
            "discovery_snapshot_age_seconds",
            "Seconds since the in-memory snapshot was last checked against the store"
            " (it is caught up before every read).",
            registry=r,
        )
        self.snapshot_lag = Gauge(
            "discovery_snapshot_lag_transactions",
            "Committed write transactions the snapshot has not applied yet.",
            registry=r,
        )
        self.snapshot_counter = Gauge(
            "discovery_snapshot_counter", "Store change counter the snapshot is at.", registry=r
        )
        self.ppr_cache = Gauge(
            "discovery_ppr_cache_lookups",
            "PPR vector look-ups since the snapshot was loaded, by outcome: hit (computed on the"
            " current graph), kept (on an older graph, within ppr_stale_l1), miss (computed).",
            ["outcome"],
            registry=r,
        )
        self.candidates = Gauge(
            "discovery_feed_candidates",
            "Explore and blend feeds served since start, by where their candidates came from:"
            " precomputed (a fresh list of `discovery batch candidates`) or online (the sources).",
            ["origin"],
            registry=r,
        )
        self.rebuilds = Gauge(
            "discovery_snapshot_rebuilds",
            "Rebuilds of lag-stale structures beside the serving ones since start, by state:"
            " done (swapped in), failed (dropped, rebuilt on use), running (0 or 1).",
            ["state"],
            registry=r,
        )
        self.rebuild_seconds = Gauge(
            "discovery_snapshot_rebuild_last_seconds",
            "Wall time of the last rebuild beside the serving structures (the requests were"
            " answered meanwhile).",
            registry=r,
        )
        self.stale = Gauge(
            "discovery_snapshot_stale_structures",
            "Derived structures past their lag, serving until their rebuild is swapped in.",
            registry=r,
        )
        self.impressions = Gauge(
            "discovery_impression_rows",
            "Impression rows of served pages since start, by state: written (to the log),"
            " queued (waiting for the writer), dropped (refused by a full queue), failed (lost"
            " to a store error).",
            ["state"],
            registry=r,
        )

    def render(
        self,
        *,
        age: float,
        lag: int,
        counter: int,
        ppr: dict[str, int] | None = None,
        candidates: dict[str, int] | None = None,
        impressions: dict[str, int] | None = None,
        rebuilds: RebuildStats | None = None,
    ) -> bytes:
        for outcome, n in (ppr or {}).items():
            self.ppr_cache.labels(outcome).set(n)
        for origin, n in (candidates or {}).items():
            self.candidates.labels(origin).set(n)
        for state, n in (impressions or {}).items():
            self.impressions.labels(state).set(n)
        if rebuilds is not None:
            for state in ("done", "failed", "running"):
                self.rebuilds.labels(state).set(getattr(rebuilds, state))
            self.rebuild_seconds.set(rebuilds.last_seconds)
            self.stale.set(rebuilds.stale)
        self.snapshot_age.set(age)
        self.snapshot_lag.set(lag)
        self.snapshot_counter.set(counter)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware that times every HTTP request and counts it by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            # a mount (static files) sets no route, only the prefix it matched as root_path
            # path_format drops converters: "/v1/users/{handle}/feed", not "{handle:path}"
            name = (
                getattr(route, "path_format", None)
                or getattr(route, "path", None)
                or scope.get("root_path")
                or "unmatched"
            )
            method = scope.get("method", "")
            self.metrics.requests.labels(method, name, str(status[0])).inc()
            self.metrics.latency.labels(method, name).observe(time.perf_counter() - start)
