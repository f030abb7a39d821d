"""Prometheus metrics at /metrics: request counts and latencies per endpoint (prometheus_client).

Under gunicorn every worker counts on its own; set PROMETHEUS_MULTIPROC_DIR (an empty folder,
cleared at each start) and the answer adds up all workers (docs/operations.md). Labels are
the route's endpoint name, never the raw path, so the number of series stays bounded. Gauges
read from the database at each scrape add the background jobs per status and the heartbeats of
the worker and scheduler processes (they run elsewhere; the database is what all share).

Who may read it: with METRICS_TOKEN set, a request bearing `Authorization: Bearer <token>`;
without, only the loopback address. Everyone else gets 404. A reverse proxy should not pass
/metrics on at all.
"""

import hmac
import logging
import os
import time
from datetime import UTC

from flask import Blueprint, Response, abort, current_app, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from .extensions import db

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "emreserve_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "emreserve_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

bp = Blueprint("metrics", __name__)
LOOPBACK = {"127.0.0.1", "::1"}


def start_timer():
    g.metrics_started = time.perf_counter()


def observe(response):
    started = g.pop("metrics_started", None)
    if started is not None and request.endpoint != "metrics.metrics":
        endpoint = request.endpoint or "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
    return response


def is_allowed_reader() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        return hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}")
    return request.remote_addr in LOOPBACK


@bp.route("/metrics")
def metrics():
    if not current_app.config.get("METRICS_ENABLED") or not is_allowed_reader():
        abort(404)
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    encode, content_type = choose_encoder(
        request.headers.get("Accept")
    )  # text format, or OpenMetrics if asked
    return Response(
        encode(_WithDatabase(registry)),
        content_type=content_type,
        headers={"Cache-Control": "no-store"},
    )


class _WithDatabase:
    """The registry's metrics plus gauges read from the database at each scrape, the same from
    every web worker: background jobs per status, and the heartbeats of the worker and
    scheduler processes (alert when `time() - emreserve_process_heartbeat_timestamp_seconds`
    grows or `emreserve_processes_alive` is 0)."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        yield from self.registry.collect()
        try:
            yield from _database_gauges()
        except Exception:  # noqa: BLE001 - the database down must not take /metrics with it
            log.warning("database gauges left out of /metrics", exc_info=True)
            db.session.rollback()


def _database_gauges():
    from . import background

    jobs = GaugeMetricFamily(
        "emreserve_background_jobs", "Background jobs by status", labels=["status"]
    )
    for status, count in background.counts().items():
        jobs.add_metric([status], count)
    beat = GaugeMetricFamily(
        "emreserve_process_heartbeat_timestamp_seconds",
        "Unix time of the newest heartbeat of a worker or scheduler process",
        labels=["process"],
    )
    alive = GaugeMetricFamily(
        "emreserve_processes_alive",
        "Worker or scheduler processes whose heartbeat is recent (within the job lease, "
        "at least 2 minutes)",
        labels=["process"],
    )
    for role, (newest, count) in background.heartbeats().items():
        beat.add_metric([role], newest.replace(tzinfo=UTC).timestamp() if newest else 0)
        alive.add_metric([role], count)
    return [jobs, beat, alive]


def init_metrics(app):
    app.before_request(start_timer)
    app.after_request(observe)
    app.register_blueprint(bp)
