"""Read an offset range from every partition of a topic, without a consumer group.

The reader uses kafka-python with ``group_id=None``: it ``assign()``s the
partitions and ``seek()``s to offsets it planned itself, and never commits.
No consumer group is joined, so no live worker's group is rebalanced or has
its committed offsets touched, and a replay can run next to production.

Fetches are sized for bulk reading (16 MB per partition, 64 MB per request,
tens of thousands of records per poll). CRCs are not re-checked on the
client: the broker validated every batch when it was written, and the
client-side check costs more than the rest of the read loop.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streams.contract import parse_event
from streams.errors import BrokerError, ContractError, FrtwatchError
from streams.kafka_client import kafka_python_kwargs
from streams.replay.timerange import PartitionPlan, TimeRange, plan_partition

POLL_RECORDS = 50_000
"""Records per ``poll()``: large, so the per-poll overhead vanishes."""
STALL_TIMEOUT_S = 60.0
"""Give up when no partition advances for this long (broker gone, data deleted)."""


def message_lag(consumer: KafkaConsumer, tp: TopicPartition, offset: int) -> float | None:
    """Message timestamp minus event ``ts`` (seconds) of the record at ``offset``.

    ``None`` when it cannot be told: no record there (compacted away), no
    timestamp, or not a valid event.
    """
    consumer.assign([tp])
    consumer.seek(tp, offset)
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500, max_records=1).values():
            record = records[0]
            if record.offset != offset or record.timestamp is None or record.timestamp < 0:
                return None
            try:
                event = parse_event(record.value)
            except ContractError:
                return None
            return record.timestamp / 1000.0 - event.ts
    return None


def consumer_config(bootstrap: str, client_id: str = "frtwatch-replay") -> dict[str, Any]:
    """kafka-python settings for a group-less bulk reader (also used by the benchmark)."""
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
    _consumer: KafkaConsumer | None = None
    _tps: dict[int, TopicPartition] = field(default_factory=dict)
    _last_advance: float = 0.0

    def open(self) -> list[PartitionPlan]:
        """Connect, plan every partition's offsets and seek to the starts."""
        if self.seek not in SEEK_MODES:
            raise ValueError(f"seek must be one of {SEEK_MODES}, got {self.seek!r}")
        try:
            consumer = KafkaConsumer(**consumer_config(self.bootstrap))
        except KafkaError:
            raise BrokerError(f"no Kafka broker answers at {self.bootstrap}") from None
        self._consumer = consumer
        try:
            partitions = consumer.partitions_for_topic(self.topic)
        except KafkaError as exc:
            raise BrokerError(f"cannot read metadata of {self.topic!r}: {exc}") from None
        if not partitions:
            raise TopicNotFound(f"topic {self.topic!r} does not exist on {self.bootstrap}")
        self._tps = {p: TopicPartition(self.topic, p) for p in sorted(partitions)}
        plans = self._plan(list(self._tps.values()))
        consumer.assign([self._tps[p.partition] for p in plans if not p.empty])
        for plan in plans:
            self.progress[plan.partition] = PartitionProgress(plan, plan.start, done=plan.empty)
            if not plan.empty:
                consumer.seek(self._tps[plan.partition], plan.start)
        self._last_advance = time.monotonic()
        return plans

    def _plan(self, tps: Sequence[TopicPartition]) -> list[PartitionPlan]:
        assert self._consumer is not None
        consumer = self._consumer
        begins = consumer.beginning_offsets(list(tps))
        ends = consumer.end_offsets(list(tps))
        lo_ms, hi_ms = self.time_range.seek_bounds_ms(self.slack_s)
        bounded = lo_ms is not None or hi_ms is not None
        scan = {tp for tp in tps if self.seek == "scan" or not bounded}
        if self.seek == "auto" and bounded:
            scan |= self._untimely(tps, begins, ends)
        timed = [tp for tp in tps if tp not in scan]
        starts: dict[TopicPartition, int | None] = {tp: begins[tp] for tp in tps}
        stops: dict[TopicPartition, int | None] = dict.fromkeys(tps)
        if timed and lo_ms is not None:
            found = consumer.offsets_for_times(dict.fromkeys(timed, lo_ms))
            starts.update({tp: (hit.offset if hit else None) for tp, hit in found.items()})
        if timed and hi_ms is not None:
            found = consumer.offsets_for_times(dict.fromkeys(timed, hi_ms))
            stops.update({tp: (hit.offset if hit else None) for tp, hit in found.items()})
        self.methods = {tp.partition: "scan" if tp in scan else "time" for tp in tps}
        return [
            plan_partition(
                tp.partition,
                begin=begins[tp],
                end=ends[tp],
                start_hit=starts[tp],
                stop_hit=stops[tp],
            )
            for tp in tps
        ]

    def _untimely(
        self,
        tps: Sequence[TopicPartition],
        begins: dict[TopicPartition, int],
        ends: dict[TopicPartition, int],
    ) -> set[TopicPartition]:
        """Partitions whose first or last message time strays from its event time."""
        probe = KafkaConsumer(
            **{
                **consumer_config(self.bootstrap, "frtwatch-replay-probe"),
                "fetch_max_bytes": 256 * 1024,
                "max_partition_fetch_bytes": 256 * 1024,
            }
        )
        untimely: set[TopicPartition] = set()
        try:
            for tp in tps:
                if ends[tp] <= begins[tp]:
                    continue
                for offset in {begins[tp], ends[tp] - 1}:
                    lag = message_lag(probe, tp, offset)
                    if lag is not None and abs(lag) > self.slack_s:
                        untimely.add(tp)
                        break
        finally:
            probe.close(autocommit=False)
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

    def poll(self, timeout_ms: int = 500) -> tuple[list[tuple[int, list[Any]]], list[int]]:
        """One bulk read: ``(partition, records)`` in offset order, and partitions now finished."""
        assert self._consumer is not None
        consumer = self._consumer
        batch = consumer.poll(timeout_ms=timeout_ms, max_records=self.poll_records)
        chunks: list[tuple[int, list[Any]]] = []
        finished: list[int] = []
        for tp, records in batch.items():
            prog = self.progress[tp.partition]
            if prog.done or not records:
                continue
            stop = prog.plan.stop
            if records[-1].offset >= stop:
                records = [r for r in records if r.offset < stop]
                prog.next_offset = stop
            elif records:
                prog.next_offset = records[-1].offset + 1
            if records:
                chunks.append((tp.partition, records))
            if prog.next_offset >= stop:
                prog.done = True
                finished.append(tp.partition)
        if batch:
            self._last_advance = time.monotonic()
        else:
            # Nothing came: a partition may end in a gap (compaction, transaction
            # markers) that no record reaches; ask the consumer where it stands.
            for partition in self.active():
                position = consumer.position(self._tps[partition], timeout_ms=5_000)
                prog = self.progress[partition]
                if position is not None and position >= prog.plan.stop:
                    prog.next_offset = prog.plan.stop
                    prog.done = True
                    finished.append(partition)
                    self._last_advance = time.monotonic()
            if self.active() and time.monotonic() - self._last_advance > STALL_TIMEOUT_S:
                raise BrokerError(
                    f"replay of {self.topic!r} made no progress for {STALL_TIMEOUT_S:.0f} s "
                    f"(partitions {self.active()} still to read)"
                )
        if finished:
            consumer.pause(*(self._tps[p] for p in finished))
        return chunks, finished

    def pause(self, partition: int) -> None:
        assert self._consumer is not None
        self._consumer.pause(self._tps[partition])

    def resume(self, partition: int) -> None:
        assert self._consumer is not None
        if not self.progress[partition].done:
            self._consumer.resume(self._tps[partition])

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
