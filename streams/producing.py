"""Publishing files to Kafka with kafka-python: search events and certification records.

Used by ``frtwatch produce``, ``frtwatch simulate --produce``, the demo and the
tests. Event lines are sent as they are, byte for byte (the worker, not the
producer, decides what is valid), so malformed samples can be produced too.

Keys (``key_mode``):

* ``agency-user`` (default): ``<agency>/<user>`` read from the line, as
  CONTRACT.md recommends (the per-user state key, :mod:`streams.contract.keys`); a line that is not a JSON object with those fields
  is sent with a null key;
* ``null``: no key (the partitioner spreads messages);
* ``random``: a random key per message, to show results do not depend on keys.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from streams.contract.event import parse_timestamp
from streams.contract.keys import parse_user_key, user_key
from streams.errors import BrokerError, ConfigError, ContractError, FrtwatchError
from streams.kafka_client import kafka_python_kwargs
from streams.policy.certifications import load_certificates_csv

KEY_MODES = ("agency-user", "null", "random")
TIMESTAMP_MODES = ("now", "event")

# Big batches (under the broker's default 1 MiB message limit) and a short linger:
# kafka-python's cost is per request, not per byte. Idempotent, acks=all (its
# defaults) so a retry never duplicates or reorders. No compression by default:
# on a local broker it costs more CPU than it saves. The C crc32c package (a
# dependency) matters most: without it every batch is checksummed in Python.
PRODUCER_TUNING: dict[str, Any] = {
    "linger_ms": 100,
    "batch_size": 768 * 1024,
    "metrics_enabled": False,
    "acks": "all",
    "bootstrap_timeout_ms": 10_000,  # an unreachable broker is reported in 10 s, not 30
}
_PROGRESS_EVERY = 4096


@dataclass(frozen=True, slots=True)
class ProduceStats:
    """What one call sent, for the progress line and the benchmark."""

    messages: int
    bytes: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("inf")


def _partitioner() -> Any:
    """KIP-480 sticky partitions for null keys; keyed records hashed once per key.

    Keyed records land where the Java client (and kafka-python's default) puts
    them, ``murmur2(key) % partitions``, but the pure-Python hash is computed
    once per distinct key instead of once per record.
    """
    from kafka.partitioner.default import murmur2
    from kafka.partitioner.sticky import StickyPartitioner

    class CachedKeyPartitioner(StickyPartitioner):
        def __init__(self) -> None:
            super().__init__()
            self._by_key: dict[tuple[str, bytes], tuple[int, int]] = {}

        def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
            if serialized_key is None:
                return super().partition(topic, key, None, value, serialized_value, cluster)
            partitions = cluster.partitions_for_topic(topic)
            if partitions is None:
                raise ValueError(f"Topic {topic} not found in ClusterMetadata")
            known = self._by_key.get((topic, serialized_key))
            if known is not None and known[0] == len(partitions):
                return known[1]
            ordered = sorted(partitions)
            chosen = ordered[(murmur2(serialized_key) & 0x7FFFFFFF) % len(ordered)]
            if len(self._by_key) < 1_000_000:
                self._by_key[(topic, serialized_key)] = (len(ordered), chosen)
            return chosen

    return CachedKeyPartitioner()


def make_producer(bootstrap: str, **overrides: Any) -> Any:
    """A tuned :class:`kafka.KafkaProducer`, or a one-line :class:`BrokerError`."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    config = {"partitioner": _partitioner(), **PRODUCER_TUNING, **overrides}
    try:
        return KafkaProducer(bootstrap_servers=bootstrap, **kafka_python_kwargs(), **config)
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from None


def key_function(mode: str) -> Callable[[bytes], bytes | None]:
    """How a message key is derived from an event line for ``mode``.

    >>> key_function("agency-user")(b'{"agency":"MPD","user":"u7","ts":"x"}')
    b'MPD/u7'
    >>> key_function("agency-user")(b'{"agency":"A/B","user":"c"}')  # the state key
    b'A%2FB/c'
    >>> key_function("agency-user")(b'not json') is None
    True
    >>> key_function("null")(b'{}') is None
    True
    >>> len(key_function("random")(b'{}'))
    16
    """
    if mode == "null":
        return lambda line: None
    if mode == "random":
        return lambda line: os.urandom(8).hex().encode()
    if mode != "agency-user":
        raise ConfigError(f"unknown key mode {mode!r}; choose one of {', '.join(KEY_MODES)}")

    def agency_user(line: bytes) -> bytes | None:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(obj, dict):
            return None
        agency, user = obj.get("agency"), obj.get("user")
        if not isinstance(agency, str) or not isinstance(user, str):
            return None
        return user_key(agency, user).encode()

    return agency_user


class _Delivery:
    """Counts acknowledged and failed sends; remembers the first failure."""

    def __init__(self) -> None:
        self.acked = 0
        self.failed = 0
        self.first_error: BaseException | None = None

    def ok(self, _metadata: Any) -> None:
        self.acked += 1

    def error(self, exc: BaseException) -> None:
        self.failed += 1
        if self.first_error is None:
            self.first_error = exc


@contextmanager
def _progress(enabled: bool, total_bytes: int, label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar (messages, rate, ETA) on stderr; a no-op when disabled."""
    if not enabled:
        yield lambda done_bytes, messages: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=24),
        TaskProgressColumn(),
        TextColumn("{task.fields[messages]:,} msgs"),
        TextColumn("{task.fields[rate]:,.0f}/s"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    began = time.perf_counter()
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=max(total_bytes, 1), messages=0, rate=0.0)

        def update(done_bytes: int, messages: int) -> None:
            elapsed = time.perf_counter() - began
            rate = messages / elapsed if elapsed > 0 else 0.0
            bar.update(task, completed=done_bytes, messages=messages, rate=rate)

        yield update


def _flush(producer: Any, delivery: _Delivery, topic: str, bootstrap: str, sent: int) -> None:
    from kafka.errors import KafkaError

    try:
        producer.flush(timeout=120)
    except KafkaError as exc:
        raise BrokerError(f"producing to {topic} at {bootstrap} did not finish: {exc}") from None
    if delivery.failed or delivery.acked != sent:
        reason = delivery.first_error or "not acknowledged in time"
        raise BrokerError(
            f"{delivery.failed or sent - delivery.acked} of {sent} messages to {topic} "
            f"at {bootstrap} failed: {reason}"
        )


def event_time_ms(line: bytes) -> int | None:
    """The event's ``ts`` as epoch milliseconds, or None for a line that has no valid one.

    >>> event_time_ms(b'{"ts": "2026-03-02T00:00:01.5Z"}')
    1772409601500
    >>> event_time_ms(b'{"ts": 5}') is None
    True
    """
    try:
        obj = orjson.loads(line)
        return round(parse_timestamp(obj["ts"]) * 1000)
    except (orjson.JSONDecodeError, ContractError, KeyError, TypeError):
        return None


def produce_lines(
    lines: Iterator[bytes],
    topic: str,
    bootstrap: str,
    key_mode: str = "agency-user",
    *,
    timestamps: str = "now",
    progress: Callable[[int, int], None] | None = None,
    producer: Any = None,
) -> ProduceStats:
    """Send each line (without its newline) as one message; wait for every acknowledgement.

    ``timestamps``: ``now`` lets the producer stamp the time of sending, like a
    live shipper; ``event`` stamps each message with its event's ``ts``, like a
    bulk load of history that keeps seeking by time meaningful.
    """
    from kafka.errors import KafkaError

    if timestamps not in TIMESTAMP_MODES:
        raise ConfigError(f"unknown timestamps mode {timestamps!r}; choose now or event")
    stamp: Callable[[bytes], int | None] = (
        event_time_ms if timestamps == "event" else (lambda line: None)
    )
    key_of = key_function(key_mode)
    own = producer is None
    producer = producer or make_producer(bootstrap)
    delivery = _Delivery()
    sent = size = 0
    began = time.perf_counter()
    try:
        for line in lines:
            value = line[:-1] if line.endswith(b"\n") else line
            if not value.strip():
                continue  # blank lines carry nothing
            try:
                future = producer.send(
                    topic, value=value, key=key_of(value), timestamp_ms=stamp(value)
                )
            except KafkaError as exc:
                raise BrokerError(f"cannot produce to {topic} at {bootstrap}: {exc}") from None
            future.add_callback(delivery.ok).add_errback(delivery.error)
            sent += 1
            size += len(line)
            if progress is not None and sent % _PROGRESS_EVERY == 0:
                progress(size, sent)
        _flush(producer, delivery, topic, bootstrap, sent)
    finally:
        if own:
            producer.close(timeout=10)
    if progress is not None:
        progress(size, sent)
    return ProduceStats(sent, size, time.perf_counter() - began)


def produce_file(
    path: str | Path,
    topic: str,
    bootstrap: str,
    key_mode: str = "agency-user",
    progress: bool = True,
    timestamps: str = "now",
) -> int:
    """Produce every line of a JSONL file to ``topic``; return how many were sent."""
    return produce_file_stats(path, topic, bootstrap, key_mode, progress, timestamps).messages


def produce_file_stats(
    path: str | Path,
    topic: str,
    bootstrap: str,
    key_mode: str = "agency-user",
    progress: bool = True,
    timestamps: str = "now",
) -> ProduceStats:
    """Like :func:`produce_file`, with bytes and timing for reports."""
    path = Path(path)
    key_function(key_mode)  # reject a bad mode before connecting
    try:
        handle = path.open("rb")
        total = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise FrtwatchError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle, _progress(progress, total, topic) as update:
        return produce_lines(
            iter(handle), topic, bootstrap, key_mode, timestamps=timestamps, progress=update
        )


def read_certifications(csv_path: str | Path) -> list[tuple[str, dict[str, str]]]:
    """(key, value) per certificate of the CSV, validated by the registry's own loader."""
    registry = load_certificates_csv(csv_path)
    records: list[tuple[str, dict[str, str]]] = []
    for key in registry:
        agency, user = parse_user_key(key)
        for cert in registry.certificates(agency, user):
            records.append(
                (key, {"certified_on": cert.certified_on, "expires_on": cert.expires_on})
            )
    return records


def publish_certifications(csv_path: str | Path, topic: str, bootstrap: str) -> int:
    """Publish each CSV row to the (compacted) certifications topic; return the count.

    Key ``<agency>/<user>`` (each part escaped: :mod:`streams.contract.keys`), value
    ``{"certified_on": ..., "expires_on": ...}``,
    exactly what the worker reads from ``frt.certifications``.
    """
    from kafka.errors import KafkaError

    records = read_certifications(csv_path)
    producer = make_producer(bootstrap, linger_ms=5)
    delivery = _Delivery()
    try:
        for key, value in records:
            try:
                future = producer.send(topic, key=key.encode(), value=orjson.dumps(value))
            except KafkaError as exc:
                raise BrokerError(f"cannot produce to {topic} at {bootstrap}: {exc}") from None
            future.add_callback(delivery.ok).add_errback(delivery.error)
        _flush(producer, delivery, topic, bootstrap, len(records))
    finally:
        producer.close(timeout=10)
    return len(records)
