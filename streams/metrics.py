"""Prometheus metrics shared by the worker and the webhook dispatcher.

Every metric frtwatch exports is defined here, once, in the default
prometheus-client registry, so the worker and the dispatcher publish the
same names and a dashboard works against either process. Callers use the
small ``record_*``/``observe_*``/``set_*`` functions rather than the metric
objects, which keeps label names and label values (bounded sets, never raw
error text) in one place.

``start_metrics_server`` serves ``/metrics`` on ``Settings.metrics_host``
(127.0.0.1 by default) and ``Settings.metrics_port``; port 0 means "off".

>>> reject_reason_class("missing required field 'ts'")
'missing_field'
>>> reject_reason_class("not valid UTF-8 JSON: unexpected character")
'bad_json'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from streams.settings import Settings

# --- the worker: input, rejects, alerts, model -------------------------------------------------

EVENTS_IN = Counter(
    "frtwatch_events_in",
    "Search events read from the input topic (valid or not).",
)
EVENTS_REJECTED = Counter(
    "frtwatch_events_rejected",
    "Input messages sent to the dead-letter topic, by reason class.",
    ["reason"],
)
ALERTS = Counter(
    "frtwatch_alerts",
    "Alert messages published, by detector, severity and kind (new alert or update).",
    ["detector", "severity", "kind"],
)
CONSUMER_LAG = Gauge(
    "frtwatch_consumer_lag",
    "Messages in a partition not yet processed and committed by a consumer group.",
    ["group", "topic", "partition"],
)
MODEL_BATCH_SIZE = Histogram(
    "frtwatch_model_batch_size",
    "Rows scored per isolation-forest micro-batch.",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
MODEL_SCORING_SECONDS = Histogram(
    "frtwatch_model_scoring_seconds",
    "Wall time to score one isolation-forest micro-batch.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
GC_PAUSE_SECONDS = Histogram(
    "frtwatch_gc_pause_seconds",
    "Time the garbage collector stopped the process, per pass, by generation.",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

STATE_ENTRIES = Gauge(
    "frtwatch_state_entries",
    "Entries held in a worker table (users, agencies), as this worker holds them.",
    ["table"],
)
MODEL_STATE = Gauge(
    "frtwatch_model_state",
    "1 for the behaviour detector's current state (scoring, warmup: no model yet, so no "
    "behaviour alerts; disabled), 0 for the others.",
    ["state"],
)
MODEL_VERSIONS = Counter(
    "frtwatch_model_versions",
    "Behaviour-model versions read from the models topic, by outcome: loaded, refused (a "
    "check failed; the versions in force stay), late (arrived after events it applies to "
    "were judged).",
    ["outcome"],
)
SHADOW_ROWS = Counter(
    "frtwatch_shadow_rows",
    "Rows a shadow model version scored beside the active one, and those at or over its "
    "threshold (flagged; no alert is raised).",
    ["version", "kind"],
)
WATERMARK_SECONDS = Gauge(
    "frtwatch_watermark_seconds",
    "The ingest stage's event-time watermark (epoch seconds): events before it are released.",
)

# --- the webhook dispatcher --------------------------------------------------------------------

WEBHOOK_DELIVERIES = Counter(
    "frtwatch_webhook_deliveries",
    "Alert messages a webhook route accepted (2xx).",
    ["route"],
)
WEBHOOK_FAILURES = Counter(
    "frtwatch_webhook_failures",
    "Alert messages a webhook route did not take, sent to the webhook dead-letter topic.",
    ["route", "reason"],
)
WEBHOOK_RETRIES = Counter(
    "frtwatch_webhook_retries",
    "Webhook attempts that failed and were retried, by cause.",
    ["route", "cause"],
)
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "frtwatch_webhook_delivery_seconds",
    "Time from the first attempt to the accepted one, retries included.",
    ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
WEBHOOK_IN_FLIGHT = Gauge(
    "frtwatch_webhook_in_flight",
    "Alert messages read from Kafka whose delivery has not finished yet.",
)
WEBHOOK_ROUTE_ENABLED = Gauge(
    "frtwatch_webhook_route_enabled",
    "1 while a route takes deliveries, 0 once a receiver answered 410 Gone.",
    ["route"],
)
WEBHOOK_INVALID_ALERTS = Counter(
    "frtwatch_webhook_invalid_alerts",
    "Messages on the alert topic that were not frt.alert.v1 (dead-lettered, not delivered).",
)

# Reason classes for rejected input: a small closed set, so a flood of odd
# input cannot blow up the number of time series. First match wins.
_REJECT_CLASSES: tuple[tuple[str, str], ...] = (
    ("ahead of its kafka record timestamp", "future_time"),  # streams.contract.event_time
    ("no value", "empty"),
    ("is empty", "empty"),
    ("bytes, more than", "too_large"),
    ("not valid utf-8 json", "bad_json"),
    ("must be a json object", "bad_json"),
    ("missing required field", "missing_field"),
    ("'endpoint' has no valid host", "bad_endpoint"),
    ("'ts'", "bad_timestamp"),
    ("hexadecimal", "bad_value"),
    ("characters", "bad_length"),
    ("must be a string", "bad_type"),
    ("must be an integer", "bad_type"),
)
REJECT_REASON_CLASSES = (*dict.fromkeys(c for _, c in _REJECT_CLASSES), "other")


def reject_reason_class(reason: str) -> str:
    """Map a ``ContractError.reason`` to one of :data:`REJECT_REASON_CLASSES`.

    >>> reject_reason_class("message is 70000 bytes, more than 65536")
    'too_large'
    >>> reject_reason_class("'ts' is not an RFC 3339 timestamp with offset: 'x'")
    'bad_timestamp'
    >>> from streams.contract.event_time import ahead_of_record
    >>> reject_reason_class(ahead_of_record(4_070_908_800.0, 1_799_999_990_000, 300.0))
    'future_time'
    >>> reject_reason_class("something new")
    'other'
    """
    text = reason.lower()
    for needle, name in _REJECT_CLASSES:
        if needle in text:
            return name
    return "other"


def record_events_in(count: int = 1) -> None:
    """Count input messages as they are read, before validation."""
    EVENTS_IN.inc(count)


def record_rejected(reason: str) -> None:
    """Count one dead-lettered input message; ``reason`` is the ContractError text."""
    EVENTS_REJECTED.labels(reason=reject_reason_class(reason)).inc()


def record_alert(detector: str, severity: str, *, update: bool = False) -> None:
    """Count one published alert message (``update=True`` for a later message of the same id)."""
    ALERTS.labels(detector=detector, severity=severity, kind="update" if update else "new").inc()


def set_consumer_lag(group: str, topic: str, partition: int, lag: int) -> None:
    """Publish a consumer group's lag on one partition (log end minus committed position)."""
    CONSUMER_LAG.labels(group=group, topic=topic, partition=str(partition)).set(max(0, lag))


def set_state_entries(table: str, count: int) -> None:
    """Publish how many entries a worker table holds."""
    STATE_ENTRIES.labels(table=table).set(count)


def set_watermark(epoch_s: float) -> None:
    """Publish the ingest stage's event-time watermark."""
    WATERMARK_SECONDS.set(epoch_s)


MODEL_STATES = ("scoring", "warmup", "disabled")


def set_model_state(state: str) -> None:
    """Publish the behaviour detector's state (one of :data:`MODEL_STATES`)."""
    if state not in MODEL_STATES:
        raise ValueError(f"unknown model state {state!r}")
    for name in MODEL_STATES:
        MODEL_STATE.labels(state=name).set(1 if name == state else 0)


def count_model_version(outcome: str) -> None:
    """Count a models-topic record: ``loaded``, ``refused`` or ``late``."""
    MODEL_VERSIONS.labels(outcome=outcome).inc()


def count_shadow(version: str, rows: int, flagged: int) -> None:
    """Count what a shadow version scored in a batch."""
    SHADOW_ROWS.labels(version=version, kind="scored").inc(rows)
    SHADOW_ROWS.labels(version=version, kind="flagged").inc(flagged)


def observe_model_batch(size: int, seconds: float) -> None:
    """Record one scored micro-batch: its row count and how long scoring took."""
    MODEL_BATCH_SIZE.observe(size)
    MODEL_SCORING_SECONDS.observe(seconds)


def observe_gc_pause(generation: int, seconds: float) -> None:
    """Record one garbage-collector pass of ``generation`` and how long it stopped the process."""
    GC_PAUSE_SECONDS.labels(generation=str(generation)).observe(seconds)


@contextmanager
def model_scoring_timer(size: int) -> Iterator[None]:
    """Time a scoring call: ``with model_scoring_timer(len(rows)): model.score(rows)``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        observe_model_batch(size, time.perf_counter() - start)


def record_webhook_delivery(route: str, seconds: float) -> None:
    """Count an accepted delivery and how long it took, retries included."""
    WEBHOOK_DELIVERIES.labels(route=route).inc()
    WEBHOOK_DELIVERY_SECONDS.labels(route=route).observe(seconds)


def record_webhook_failure(route: str, reason: str) -> None:
    """Count a dead-lettered delivery; ``reason`` is a short class, never the error text."""
    WEBHOOK_FAILURES.labels(route=route, reason=reason).inc()


def record_webhook_retry(route: str, cause: str) -> None:
    """Count a failed attempt that will be retried; ``cause`` is a short class."""
    WEBHOOK_RETRIES.labels(route=route, cause=cause).inc()


def set_webhook_route_enabled(route: str, enabled: bool) -> None:
    WEBHOOK_ROUTE_ENABLED.labels(route=route).set(1 if enabled else 0)


@dataclass(slots=True)
class MetricsServer:
    """A running ``/metrics`` endpoint; ``close()`` stops it."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(host: str = "127.0.0.1", port: int = 0) -> MetricsServer:
    """Serve ``/metrics`` in a daemon thread; port 0 picks a free port (see ``.port``)."""
    server, thread = start_http_server(port, addr=host)
    return MetricsServer(host=host, port=int(server.server_port), _server=server, _thread=thread)


def start_metrics_server(settings: Settings) -> MetricsServer | None:
    """Start ``/metrics`` as configured (``FRTWATCH_METRICS_HOST``/``_PORT``); None when port is 0."""
    if settings.metrics_port == 0:
        return None
    return serve_metrics(settings.metrics_host, settings.metrics_port)


def record_webhook_invalid_alert() -> None:
    """Count a message on the alert topic that was not a valid alert (dead-lettered)."""
    WEBHOOK_INVALID_ALERTS.inc()


def set_webhook_in_flight(count: int) -> None:
    WEBHOOK_IN_FLIGHT.set(count)
