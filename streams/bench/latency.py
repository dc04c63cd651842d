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

import math
import time
from collections.abc import Callable, Iterator
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


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile of ``values`` (``None`` when empty).

    >>> percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50), percentile([], 99)
    (3.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass(slots=True)
class Latency:
    """Probe latencies in milliseconds, whole and per stage of the worker.

    ``alert_ms`` is when each probe's alert was appended to the alerts topic;
    ``internal_ms`` when the ingest stage sent the internal record carrying the
    probe (its producer's timestamp), which splits the latency into the ingest
    stage (input -> internal record) and the detection stage (internal record
    -> alert).
    """

    offered: Offered
    alert_ms: dict[str, int]
    internal_ms: dict[str, int] = field(default_factory=dict)
    cpu_cores: dict[str, float] = field(default_factory=dict)

    @property
    def values_ms(self) -> list[float]:
        sent = self.offered.probes
        return [float(at - sent[i]) for i, at in self.alert_ms.items()]

    @property
    def missing(self) -> int:
        return len(self.offered.probes) - len(self.alert_ms)

    def percentile(self, p: float) -> float | None:
        return percentile(self.values_ms, p)

    def stages(self) -> dict[str, list[float]]:
        """Per-probe milliseconds spent in each stage (probes seen at both ends)."""
        sent = self.offered.probes
        ingest, detect = [], []
        for event_id, at in self.alert_ms.items():
            internal = self.internal_ms.get(event_id)
            if internal is not None:
                ingest.append(float(internal - sent[event_id]))
                detect.append(float(at - internal))
        return {"ingest": ingest, "detect": detect}

    def slowest(self, n: int = 5) -> list[dict[str, float]]:
        """The ``n`` slowest probes: when in the run they were sent, and their latency."""
        sent = self.offered.probes
        if not sent:
            return []
        began = min(sent.values())
        worst = sorted(self.alert_ms, key=lambda i: self.alert_ms[i] - sent[i], reverse=True)
        return [
            {
                "sent_at_s": round((sent[i] - began) / 1000, 2),
                "latency_ms": float(self.alert_ms[i] - sent[i]),
            }
            for i in worst[:n]
        ]

    def to_dict(self) -> dict[str, Any]:
        values = self.values_ms
        out: dict[str, Any] = {
            "offered_events_per_s": round(self.offered.per_second, 1),
            "events_sent": self.offered.sent,
            "probes": len(self.offered.probes),
            "probes_without_alert": self.missing,
            "sender_worst_lag_ms": round(self.offered.late_ms, 1),
            "p50_ms": percentile(values, 50),
            "p90_ms": percentile(values, 90),
            "p99_ms": percentile(values, 99),
            "max_ms": max(values) if values else None,
        }
        for stage, stage_values in self.stages().items():
            out[f"{stage}_p50_ms"] = percentile(stage_values, 50)
            out[f"{stage}_p99_ms"] = percentile(stage_values, 99)
        out["slowest"] = self.slowest()
        out["cpu_cores"] = self.cpu_cores
        return out


def probe_alerts(bootstrap: str, topic: str, probes: dict[str, int],
                 timeout_s: float) -> dict[str, int]:  # fmt: skip
    """Read the alerts topic until every probe's alert is there (or the time is up):
    probe event id -> the alert record's (append) timestamp, ms."""
    first_seen: dict[str, int] = {}
    since = min(probes.values(), default=0)
    records = _records_until(bootstrap, topic, lambda: len(first_seen) >= len(probes),
                             timeout_s, since)  # fmt: skip
    for record in records:
        alert = orjson.loads(record.value)
        if alert.get("detector") != PROBE_DETECTOR:
            continue
        ids = alert.get("event_ids") or []
        if ids and ids[0] in probes:
            known = first_seen.get(ids[0])
            if known is None or record.timestamp < known:
                first_seen[ids[0]] = record.timestamp
    return first_seen


def probe_handoffs(bootstrap: str, internal_topic: str, probes: dict[str, int],
                   timeout_s: float = 60.0) -> dict[str, int]:  # fmt: skip
    """When the ingest stage sent each probe on: probe event id -> the timestamp of the
    internal record that carries it, ms (the first, if it was sent twice)."""
    from streams.worker.internal_records import unpack

    sent: dict[str, int] = {}
    since = min(probes.values(), default=0)
    records = _records_until(bootstrap, internal_topic, lambda: len(sent) >= len(probes),
                             timeout_s, since)  # fmt: skip
    for record in records:
        for decoded, _ in unpack(record.value, list(record.headers or ())):
            event_id = decoded[0] if isinstance(decoded, list) else decoded.get("event_id")
            if event_id in probes and event_id not in sent:
                sent[event_id] = record.timestamp
    return sent


def _records_until(bootstrap: str, topic: str, done: Callable[[], bool], timeout_s: float,
                   since_ms: int) -> Iterator[Any]:  # fmt: skip
    """The records of ``topic`` stamped ``since_ms`` or later, until ``done()`` or the
    time is up (earlier records, such as the bulk phase's, are skipped on the broker)."""
    from kafka import KafkaConsumer, TopicPartition

    from streams.replay.kafka_reader import consumer_config

    consumer = KafkaConsumer(**consumer_config(bootstrap, "frtwatch-bench-probes"))
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        starts = consumer.offsets_for_times({tp: since_ms for tp in tps})
        for tp in tps:
            found = starts.get(tp)
            if found is None:  # nothing that late: nothing to read here yet
                consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, found.offset)
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                yield from batch
    finally:
        consumer.close()
