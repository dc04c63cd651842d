"""Event-to-alert latency at a fixed offered load.

The live part of the simulated world is sent to a running, caught-up worker
at ``rate`` events per second for ``seconds``. Every ``probe_every``-th
event is a *probe*: a search by a user seen nowhere else, on a prohibited
service, with the event time of its neighbour, so the worker opens a
``prohibited_endpoint`` alert whose first evidence is exactly that probe.

Two wall-clock stamps, both under the benchmark's control:

* sent: the probe record's timestamp, set by this process to ``time.time()``
  when it hands the record to the producer (``CreateTime``);
* appeared: the alert record's timestamp on the alerts topic, which the
  benchmark created with ``message.timestamp.type=LogAppendTime``, so the
  broker stamps each record with the moment it was appended.

Latency = appeared - sent, per probe: it includes the producer's linger,
both Kafka hops of the worker (input, then the by-agency topic), the
event-time merge, the micro-batch wait, detection and the alert's delivery.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

PROBE_AGENCY = "MPD"
PROBE_ENDPOINT = "https://app.clearview.ai/search"
PROBE_DETECTOR = "prohibited_endpoint"
LINGER_MS = 5
"""A live shipper sends promptly: a few milliseconds of batching, not the bulk loader's 100."""


@dataclass(slots=True)
class Offered:
    """What the load generator sent."""

    sent: int = 0
    seconds: float = 0.0
    probes: dict[str, int] = field(default_factory=dict)
    """probe event id -> sent time (epoch ms)."""
    late_ms: float = 0.0
    """How far the sender fell behind its schedule at worst."""

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def probe_line(run_id: str, n: int, ts: str) -> tuple[str, bytes]:
    """A probe search: its own user, a prohibited service, a case number."""
    event_id = f"probe-{run_id}-{n}"
    event = {
        "event_id": event_id,
        "ts": ts,
        "agency": PROBE_AGENCY,
        "user": f"latency-probe-{run_id}-{n}",
        "endpoint": PROBE_ENDPOINT,
        "case_number": f"LAT-{n}",
        "purpose": "investigation",
        "source": "proxy",
    }
    return event_id, orjson.dumps(event)


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for line in handle:
            line = line.rstrip(b"\n")
            if line:
                yield line


def offer(
    bootstrap: str,
    topic: str,
    live: Path,
    *,
    rate: float,
    seconds: float,
    probe_every: int,
    run_id: str,
) -> Offered:
    """Send ``rate`` events/s for ``seconds`` (probes included), on a fixed schedule."""
    from streams.producing import key_function, make_producer

    producer = make_producer(bootstrap, linger_ms=LINGER_MS)
    key_of = key_function("agency-user")
    total = int(rate * seconds)
    offered = Offered()
    source = _lines(live)
    last_ts = "2026-03-16T00:00:00Z"
    began = time.monotonic()
    try:
        n = 0
        while n < total:
            due = min(total, int((time.monotonic() - began) * rate) + 1)
            offered.late_ms = max(offered.late_ms, ((time.monotonic() - began) - n / rate) * 1000)
            while n < due:
                if n % probe_every == probe_every - 1:
                    event_id, value = probe_line(run_id, n, last_ts)
                    now_ms = int(time.time() * 1000)
                    producer.send(topic, value=value, key=key_of(value), timestamp_ms=now_ms)
                    offered.probes[event_id] = now_ms
                else:
                    value = next(source, b"")
                    if not value:
                        total = n
                        break
                    last_ts = orjson.loads(value)["ts"]
                    producer.send(topic, value=value, key=key_of(value),
                                  timestamp_ms=int(time.time() * 1000))  # fmt: skip
                n += 1
            ahead = (n / rate) - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(min(ahead, 0.005))
        producer.flush(timeout=60)
        offered.sent = n
        offered.seconds = time.monotonic() - began
    finally:
        producer.close(timeout=10)
    return offered


@dataclass(slots=True)
class Latency:
    """Probe latencies in milliseconds."""

    values_ms: list[float]
    missing: int
    offered: Offered

    def percentile(self, p: float) -> float | None:
        if not self.values_ms:
            return None
        ordered = sorted(self.values_ms)
        rank = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[rank]

    def to_dict(self) -> dict[str, Any]:
        return {
            "offered_events_per_s": round(self.offered.per_second, 1),
            "events_sent": self.offered.sent,
            "probes": len(self.offered.probes),
            "probes_without_alert": self.missing,
            "sender_worst_lag_ms": round(self.offered.late_ms, 1),
            "p50_ms": self.percentile(50),
            "p90_ms": self.percentile(90),
            "p99_ms": self.percentile(99),
            "max_ms": max(self.values_ms) if self.values_ms else None,
        }


def probe_alerts(bootstrap: str, topic: str, probes: dict[str, int], timeout_s: float) -> Latency:
    """Read the alerts topic until every probe's alert is there (or the time is up)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest")  # fmt: skip
    first_seen: dict[str, int] = {}
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout_s
        while len(first_seen) < len(probes) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    alert = orjson.loads(record.value)
                    if alert.get("detector") != PROBE_DETECTOR:
                        continue
                    ids = alert.get("event_ids") or []
                    if ids and ids[0] in probes:
                        known = first_seen.get(ids[0])
                        if known is None or record.timestamp < known:
                            first_seen[ids[0]] = record.timestamp
    finally:
        consumer.close()
    values = [float(first_seen[i] - probes[i]) for i in first_seen]
    return Latency(values, len(probes) - len(first_seen), Offered())
