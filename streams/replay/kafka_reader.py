"""Read an offset range from every partition of a topic, without joining a consumer group.

The reader is confluent-kafka's consumer (librdkafka): it ``assign()``s the
partitions at offsets it planned itself, never subscribes and never commits.
No consumer group is joined, so no live worker's group is rebalanced or has
its committed offsets touched, and a replay can run next to production.
(confluent-kafka insists on a ``group.id``; the reader gives a name of its own
per run, ``frtwatch-replay-<random>``, with auto-commit and the offset store
off, so nothing is ever written for it.)

librdkafka fetches and decodes record batches in its own threads, in C, while
Python parses and judges: measured, a bare read loop with it runs at 355,000
events/s here, aiokafka's at 263,000 and kafka-python's at 58,000-91,000
(docs/PERFORMANCE.md). Fetches are sized for bulk reading (16 MB per
partition, 64 MB per request); CRCs are not re-checked on the client (the
broker validated every batch when it was written). The consumer reports the
end of a partition (``enable.partition.eof``), which is how a partition that
ends in a gap no record reaches (compaction, transaction markers) is finished.

The connection settings come from :meth:`streams.kafka_client.KafkaSecurity.confluent`:
the same protocol, SASL mechanism, credentials and CA as every other client.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from streams.contract import parse_event
from streams.errors import BrokerError, ContractError, FrtwatchError
from streams.kafka_client import confluent_config, kafka_python_kwargs
from streams.replay.timerange import PartitionPlan, TimeRange, plan_partition

log = logging.getLogger(__name__)

POLL_RECORDS = 50_000
"""Records per ``consume()``: large, so the per-call overhead vanishes."""
STALL_TIMEOUT_S = 60.0
"""Give up when no partition advances for this long (broker gone, data deleted)."""
METADATA_TIMEOUT_S = 10.0
"""An unreachable broker is reported after this long."""
NO_TIMESTAMP = -1
"""What a record without a timestamp reports, as kafka-python does."""


class Record(Protocol):
    """What the reader hands on of a confluent-kafka ``Message`` (its types, narrowed: a
    message that is not an error always has a partition and an offset)."""

    def value(self) -> bytes | None: ...
    def offset(self) -> int: ...
    def partition(self) -> int: ...
    def timestamp(self) -> tuple[int, int]: ...
    def error(self) -> KafkaError | None: ...


def record_timestamp_ms(record: Record) -> int:
    """The record's timestamp in ms, or -1 when it has none."""
    kind, value = record.timestamp()
    return NO_TIMESTAMP if kind == TIMESTAMP_NOT_AVAILABLE or value is None else int(value)


def message_lag(consumer: Consumer, tp: TopicPartition, offset: int) -> float | None:
    """Message timestamp minus event ``ts`` (seconds) of the record at ``offset``.

    ``None`` when it cannot be told: no record there (compacted away), no
    timestamp, or not a valid event.
    """
    consumer.assign([TopicPartition(tp.topic, tp.partition, offset)])
    deadline = time.monotonic() + 10.0
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            record = cast(Record, message)
            error = record.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    return None
                continue
            stamp = record_timestamp_ms(record)
            if record.offset() != offset or stamp < 0:
                return None
            try:
                event = parse_event(record.value())
            except ContractError:
                return None
            return stamp / 1000.0 - event.ts
        return None
    finally:
        consumer.unassign()


def consumer_config(bootstrap: str, client_id: str = "frtwatch-replay") -> dict[str, Any]:
    """kafka-python settings for a group-less bulk reader (the compacted-topic readers and
    the benchmark's raw kafka-python loop use them)."""
    return {
        "bootstrap_servers": bootstrap,
        **kafka_python_kwargs(),
        "client_id": client_id,
        "group_id": None,
        "enable_auto_commit": False,
        "allow_auto_create_topics": False,
        "auto_offset_reset": "earliest",
        "fetch_max_bytes": 64 * 1024 * 1024,
        "max_partition_fetch_bytes": 16 * 1024 * 1024,
        "fetch_max_wait_ms": 100,
        "max_poll_records": POLL_RECORDS,
        "check_crcs": False,
        "metrics_enabled": False,
        "request_timeout_ms": 30_000,
        "bootstrap_timeout_ms": 10_000,  # an unreachable broker is reported in 10 s
    }


def reader_config(bootstrap: str, client_id: str = "frtwatch-replay") -> dict[str, Any]:
    """confluent-kafka settings for the group-less bulk reader (also used by the benchmark)."""
    return {
        "bootstrap.servers": bootstrap,
        **confluent_config(),
        "client.id": client_id,
        # Required by confluent-kafka even without subscribe(); never joined, never committed.
        "group.id": f"{client_id}-{uuid.uuid4().hex[:12]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "allow.auto.create.topics": False,
        "isolation.level": "read_uncommitted",  # as kafka-python and aiokafka read
        "enable.partition.eof": True,
        "fetch.max.bytes": 64 * 1024 * 1024,
        "max.partition.fetch.bytes": 16 * 1024 * 1024,
        "fetch.wait.max.ms": 100,
        "queued.max.messages.kbytes": 32 * 1024,  # read ahead at most 32 MiB per partition
        # With its read-ahead full (or 100,000 records queued) librdkafka waits this long
        # before it fetches again; its default of 1 s halved a 1M-event read here.
        "fetch.queue.backoff.ms": 10,
        "check.crcs": False,
        "socket.timeout.ms": 30_000,
        "logger": _LibrdkafkaLog(),
    }


class _LibrdkafkaLog:
    """librdkafka's log lines, at debug level: it logs every refused connection and
    retry, and the reader reports what ends a replay itself, in one line (an unreachable
    broker, a missing topic, no progress for ``STALL_TIMEOUT_S``)."""

    _log = logging.getLogger("streams.replay.librdkafka")

    def log(self, level: int, msg: str, *args: Any) -> None:
        self._log.debug(msg, *args)


class TopicNotFound(FrtwatchError):
    """The topic to replay does not exist on the broker."""


@dataclass(slots=True)
class PartitionProgress:
    plan: PartitionPlan
    next_offset: int
    done: bool = False

    @property
    def read(self) -> int:
        return max(0, self.next_offset - self.plan.start)


SEEK_MODES = ("auto", "time", "scan")
"""``time``: trust message timestamps; ``scan``: read whole partitions; ``auto``: probe first."""


@dataclass(slots=True)
class RangeReader:
    """Plans and reads ``[start, stop)`` offsets of every partition; see :meth:`open`.

    ``seek`` says how offsets are chosen. ``time`` seeks with
    ``offsets_for_times``. ``scan`` reads whole partitions (the event-time
    filter still applies). ``auto`` (the default) first reads the oldest and
    newest message of each partition and compares their message timestamps
    with their events' own ``ts``: where they differ by more than the slack
    (a topic loaded in bulk from an archive, or produced by a tool that does
    not set timestamps) seeking by time would miss events, so that partition
    is scanned instead. :attr:`methods` records the choice per partition.
    """

    bootstrap: str
    topic: str
    time_range: TimeRange
    slack_s: float
    seek: str = "auto"
    poll_records: int = POLL_RECORDS
    progress: dict[int, PartitionProgress] = field(default_factory=dict)
    methods: dict[int, str] = field(default_factory=dict)
    _consumer: Consumer | None = None
    _last_advance: float = 0.0

    def open(self) -> list[PartitionPlan]:
        """Connect, plan every partition's offsets and assign them at their starts."""
        if self.seek not in SEEK_MODES:
            raise ValueError(f"seek must be one of {SEEK_MODES}, got {self.seek!r}")
        consumer = Consumer(reader_config(self.bootstrap))
        self._consumer = consumer
        try:
            metadata = consumer.list_topics(self.topic, timeout=METADATA_TIMEOUT_S)
        except KafkaException:
            raise BrokerError(f"no Kafka broker answers at {self.bootstrap}") from None
        found = metadata.topics.get(self.topic)
        if found is None or found.error is not None or not found.partitions:
            if found is not None and found.error is not None:
                code = found.error.code()
                if code not in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
                    raise BrokerError(
                        f"cannot read metadata of {self.topic!r}: {found.error.str()}"
                    )
            raise TopicNotFound(f"topic {self.topic!r} does not exist on {self.bootstrap}")
        plans = self._plan(sorted(found.partitions))
        for plan in plans:
            self.progress[plan.partition] = PartitionProgress(plan, plan.start, done=plan.empty)
        consumer.assign(
            [TopicPartition(self.topic, p.partition, p.start) for p in plans if not p.empty]
        )
        self._last_advance = time.monotonic()
        return plans

    def _tp(self, partition: int, offset: int | None = None) -> TopicPartition:
        if offset is None:
            return TopicPartition(self.topic, partition)
        return TopicPartition(self.topic, partition, offset)

    def _lookup(self, partitions: Sequence[int], ms: int) -> dict[int, int | None]:
        """``offsets_for_times``: the first offset with a timestamp >= ``ms`` (None: none)."""
        assert self._consumer is not None
        try:
            answers = self._consumer.offsets_for_times(
                [self._tp(p, ms) for p in partitions], timeout=METADATA_TIMEOUT_S
            )
        except KafkaException as exc:
            raise BrokerError(f"cannot look up offsets of {self.topic!r}: {exc}") from None
        return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in answers}

    def _plan(self, partitions: Sequence[int]) -> list[PartitionPlan]:
        assert self._consumer is not None
        consumer = self._consumer
        begins: dict[int, int] = {}
        ends: dict[int, int] = {}
        for partition in partitions:
            try:
                begins[partition], ends[partition] = consumer.get_watermark_offsets(
                    self._tp(partition), timeout=METADATA_TIMEOUT_S, cached=False
                )
            except KafkaException as exc:
                raise BrokerError(f"cannot read the offsets of {self.topic!r}: {exc}") from None
        lo_ms, hi_ms = self.time_range.seek_bounds_ms(self.slack_s)
        bounded = lo_ms is not None or hi_ms is not None
        scan = {p for p in partitions if self.seek == "scan" or not bounded}
        if self.seek == "auto" and bounded:
            scan |= self._untimely(partitions, begins, ends)
        timed = [p for p in partitions if p not in scan]
        starts: dict[int, int | None] = dict(begins)
        stops: dict[int, int | None] = dict.fromkeys(partitions)
        if timed and lo_ms is not None:
            starts.update(self._lookup(timed, lo_ms))
        if timed and hi_ms is not None:
            stops.update(self._lookup(timed, hi_ms))
        self.methods = {p: "scan" if p in scan else "time" for p in partitions}
        return [
            plan_partition(p, begin=begins[p], end=ends[p], start_hit=starts[p], stop_hit=stops[p])
            for p in partitions
        ]

    def _untimely(
        self, partitions: Sequence[int], begins: dict[int, int], ends: dict[int, int]
    ) -> set[int]:
        """Partitions whose first or last message time strays from its event time."""
        probe = Consumer(
            {
                **reader_config(self.bootstrap, "frtwatch-replay-probe"),
                "fetch.max.bytes": 1024 * 1024,  # librdkafka's least (message.max.bytes)
                "max.partition.fetch.bytes": 256 * 1024,
                "queued.max.messages.kbytes": 1024,
            }
        )
        untimely: set[int] = set()
        try:
            for p in partitions:
                if ends[p] <= begins[p]:
                    continue
                for offset in {begins[p], ends[p] - 1}:
                    lag = message_lag(probe, self._tp(p), offset)
                    if lag is not None and abs(lag) > self.slack_s:
                        untimely.add(p)
                        break
        finally:
            probe.close()
        return untimely

    @property
    def total(self) -> int:
        """Offsets to read in all partitions (records, less any compacted away)."""
        return sum(p.plan.size for p in self.progress.values())

    @property
    def read(self) -> int:
        return sum(p.read for p in self.progress.values())

    def active(self) -> list[int]:
        return [p for p, prog in self.progress.items() if not prog.done]

    def poll(self, timeout_ms: int = 500) -> tuple[list[tuple[int, list[Record]]], list[int]]:
        """One bulk read: ``(partition, records)`` in offset order, and partitions now finished."""
        assert self._consumer is not None
        consumer = self._consumer
        messages = cast(list[Record], consumer.consume(self.poll_records, timeout_ms / 1000.0))
        by_partition: dict[int, list[Record]] = {}
        ends: dict[int, int] = {}
        for message in messages:
            error = message.error()
            if error is None:
                partition = message.partition()
                records = by_partition.get(partition)
                if records is None:
                    records = by_partition[partition] = []
                records.append(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                ends[message.partition()] = message.offset()
            elif error.fatal():
                raise BrokerError(f"replay of {self.topic!r} failed: {error.str()}")
            else:  # librdkafka retries by itself; the stall timeout ends a lasting failure
                log.debug("replay reader: %s", error.str())
        chunks: list[tuple[int, list[Record]]] = []
        finished: list[int] = []
        advanced = False
        for partition, records in by_partition.items():
            prog = self.progress[partition]
            if prog.done:
                continue
            advanced = True
            stop = prog.plan.stop
            if records[-1].offset() >= stop:
                records = [r for r in records if r.offset() < stop]
                prog.next_offset = stop
            else:
                prog.next_offset = records[-1].offset() + 1
            if records:
                chunks.append((partition, records))
            if prog.next_offset >= stop:
                prog.done = True
                finished.append(partition)
        # The end of a partition reached: past its stop, it is finished even when no
        # record reached the stop (the partition ends in a gap).
        for partition, end in ends.items():
            prog = self.progress[partition]
            if not prog.done and end >= prog.plan.stop:
                prog.next_offset = prog.plan.stop
                prog.done = True
                finished.append(partition)
                advanced = True
        if advanced:
            self._last_advance = time.monotonic()
        elif self.active() and time.monotonic() - self._last_advance > STALL_TIMEOUT_S:
            raise BrokerError(
                f"replay of {self.topic!r} made no progress for {STALL_TIMEOUT_S:.0f} s "
                f"(partitions {self.active()} still to read)"
            )
        if finished:
            consumer.pause([self._tp(p) for p in finished])
        return chunks, finished

    def pause(self, partition: int) -> None:
        assert self._consumer is not None
        self._consumer.pause([self._tp(partition)])

    def resume(self, partition: int) -> None:
        assert self._consumer is not None
        if not self.progress[partition].done:
            self._consumer.resume([self._tp(partition)])

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
