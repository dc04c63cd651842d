"""The ingest stage: validate, dead-letter, merge partitions by event time, re-key.

It reads the input topic with a plain aiokafka consumer in a consumer group
of its own (``<app_id>-ingest``), not through a Faust agent: the work per
message is small, and Faust's per-message machinery cost more than all of it
(see docs/PERFORMANCE.md); a plain consumer also hands over every record it
fetched, in order, around rebalances too. The detection stage, which keeps
the tables, stays a Faust agent on the internal topic this stage writes.

Each message is triaged (:mod:`streams.worker.ingest.triage`): a dead letter goes out at
once; a valid event, re-keyed by agency, waits under the event-time watermark
(:class:`~streams.judge.watermark.Watermark`, the same one ``frtwatch replay``
uses) over the assigned input partitions, so the internal topic receives each
agency's events in event-time order whatever the keys, the partitioning and the
timing of the reads (a backlog, a bulk load, a restart). A partition with
nothing buffered and nothing on the broker that holds a release back for
``watermark_idle_s`` stops being waited for until it delivers again
(:class:`~streams.judge.watermark.IdleClock`). The events of one agency that leave
together go out as one record, each with its input coordinates
(:mod:`streams.worker.internal_records`). Whatever leaves is sent and confirmed by
the broker (:func:`~streams.worker.delivery.deliver`) before its offset counts as
finished; offsets are committed up to the first unfinished record of each
partition (:class:`~streams.worker.ingest.offset_tracker.OffsetTracker`), every
``commit_interval_s``, before partitions are given up in a rebalance, and at
shutdown. Events still held at a rebalance or a shutdown are not sent: their
offsets are not finished, so whoever reads the partition next reads them again,
in order. A crash re-reads from the last commit; the copies it sends again are
recognised downstream (:mod:`streams.judge.progress_marks`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from streams.contract.dead_letter import SourceCoordinates, dead_letter, internal_error_reason
from streams.contract.event_time import ahead_of_record
from streams.judge.watermark import IdleClock, Watermark
from streams.kafka_client import aiokafka_kwargs
from streams.metrics import record_events_in, record_rejected, set_consumer_lag, set_watermark
from streams.settings import Settings
from streams.worker.delivery import Outgoing, deliver
from streams.worker.ingest.offset_tracker import OffsetTracker
from streams.worker.ingest.partition_lag import LagClock
from streams.worker.ingest.triage import triage
from streams.worker.internal_records import Packer
from streams.worker.topics import WorkerTopics
from streams.worker.workarounds import private

log = logging.getLogger("frtwatch.worker")

WATERMARK_MAX_HELD = 200_000
"""Input events the watermark holds at most (about 100 MB); beyond it the earliest leave."""
POLL_MS = 100
"""The longest a poll waits for records; the watermark is looked at least this often."""
POLL_RECORDS = 5000
"""Records taken per poll (sent and confirmed together)."""
LAG_GRACE_S = 5.0
"""A partition with records still on the broker holds the watermark for at most this long
after it fell behind or last delivered (:mod:`streams.worker.ingest.partition_lag`)."""
START_RETRY_S = 2.0
FETCH_MIN_BYTES = 16 * 1024
FETCH_MAX_WAIT_MS = 100
"""A fetch waits for 16 KiB or 100 ms, not one record. With Kafka's default
``fetch.min.bytes`` of 1 the broker answers as soon as one record is there, so at
live rates the consumer sent a request for every few events, each costing a socket
write, a response to decode and a turn of the event loop (at 2,000 events/s offered
the worker spent 0.79 cores, a third of it fetching; with this 0.54). 16 KiB is
about 50 events: at 2,000 events/s a fetch returns after some 25 ms; a backlog fills
every answer at once. The wait is what an event may lose at low rates, and what an
idle worker polls at (25 ms cost an idle worker 4 % of a core more)."""


def ingest_group(app_id: str) -> str:
    """The ingest stage's consumer group for a worker app id.

    >>> ingest_group("frtwatch")
    'frtwatch-ingest'
    """
    return f"{app_id}-ingest"


class Valid(NamedTuple):
    """A valid input event, ready to be packed for the detection stage."""

    agency: bytes
    fields: bytes
    """Its compact form (:meth:`~streams.contract.event.SearchEvent.to_fields`, as JSON)."""
    ts: float

    def event_id(self) -> str:
        """The event's id, read back from its compact form (the watermark's tie key)."""
        return str(orjson.loads(self.fields)[0])


def route_message(
    key: bytes | None,
    value: bytes | None,
    headers: Iterable[tuple[str, bytes]],
    source: SourceCoordinates,
    topics: WorkerTopics,
    record_timestamp_ms: int | None = None,
    max_clock_skew_s: float = math.inf,
) -> Valid | Outgoing:
    """Where one input message goes: a valid event (to its agency's partition, packed
    with its input coordinates when sent: :mod:`streams.worker.internal_records`), or a dead
    letter. ``headers`` are read only for a dead letter."""
    try:
        verdict = triage(value)
        if verdict.event is not None:
            valid = verdict.event
            ahead = ahead_of_record(valid.ts, record_timestamp_ms, max_clock_skew_s)
            if ahead is None:
                fields = orjson.dumps(valid.to_fields())  # validated once, here
                return Valid(valid.agency.encode("utf-8"), fields, valid.ts)
            reason = ahead
        else:
            reason = verdict.reason or "invalid event"
    except Exception as exc:  # a bug in validation must not lose the message
        log.exception("validation failed at %s", source)
        reason = internal_error_reason(exc)
    record_rejected(reason)
    letter = dead_letter(key, value, reason, source, headers)
    return Outgoing.dead(topics.dlq, letter)


Released = tuple[float, int, int, Valid]
"""A valid event the watermark released: its time, input partition and offset."""
Letter = tuple[Outgoing, int, int]
"""A dead letter and the input partition and offset it finishes."""


class Ingest:
    """The ingest stage over one consumer (see the module doc).

    ``run`` is the whole stage: it returns only when cancelled, after committing
    what is finished.
    """

    def __init__(
        self,
        settings: Settings,
        topics: WorkerTopics,
        *,
        idle_s: float | None = None,
        max_held: int = WATERMARK_MAX_HELD,
        commit_interval_s: float,
        session_timeout_s: float,
        heartbeat_s: float,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.input_topic = topics.events.get_topic_name()
        self.group = ingest_group(settings.app_id)
        self.merge: Watermark[Valid] = Watermark(max_held=max_held, tie=Valid.event_id)
        self.idle = IdleClock(settings.watermark_idle_s if idle_s is None else idle_s)
        self.offsets: OffsetTracker[int] = OffsetTracker()
        self.commit_interval_s = commit_interval_s
        self.session_timeout_ms = int(session_timeout_s * 1000)
        self.heartbeat_ms = int(heartbeat_s * 1000)
        self.consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()  # one of: a poll's work, a rebalance's flush
        self.lag = LagClock(LAG_GRACE_S)
        self._last_commit = 0.0

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap.split(","),
            **aiokafka_kwargs(self.settings.kafka),
            client_id=self.group,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_ms,
            fetch_min_bytes=FETCH_MIN_BYTES,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )

    async def _start(self) -> AIOKafkaConsumer:
        """A started consumer subscribed to the input topic; waits for the broker."""
        while True:
            consumer = self._new_consumer()
            consumer.subscribe([self.input_topic], listener=_GiveBack(self))
            try:
                await consumer.start()
                return consumer
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker not reachable yet: wait, never crash
                log.warning("ingest cannot reach the broker yet: %r", exc)
                await consumer.stop()
                await asyncio.sleep(START_RETRY_S)

    async def run(self) -> None:
        consumer = self.consumer = await self._start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=POLL_MS, max_records=POLL_RECORDS)
                async with self._lock:
                    await self._take(batches)
        finally:
            try:
                async with self._lock:
                    await self.flush()
            finally:
                self.consumer = None
                await consumer.stop()

    async def _take(self, batches: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> None:
        """Route a poll's records, send what may leave, commit when it is time."""
        now = time.monotonic()
        letters: list[Letter] = []
        valid: list[tuple[float, int, Valid]] = []
        for tp, records in batches.items():
            partition = tp.partition
            self.lag.delivered(partition, now)
            record_events_in(len(records))
            self._publish_lag(tp, records[-1].offset if records else None)
            for record in records:
                offset = record.offset
                self.offsets.started(partition, offset)
                source = SourceCoordinates(tp.topic, partition, offset)
                routed = route_message(
                    record.key, record.value, record.headers or (), source, self.topics,
                    record.timestamp, self.settings.max_clock_skew_s,
                )  # fmt: skip
                if isinstance(routed, Valid):
                    valid.append((routed.ts, offset, routed))
                else:
                    letters.append((routed, partition, offset))
            if valid:
                self.merge.open((partition,))
                self.merge.add(partition, valid)
                valid = []
        idle = self.idle.idle(self.merge.blocking(), self._lagging(now), now)
        released = self.merge.release(idle)
        if math.isfinite(self.merge.released_to):
            set_watermark(self.merge.released_to)
        await self._send(letters, released)
        if now - self._last_commit >= self.commit_interval_s:
            await self._commit()

    def _publish_lag(self, tp: TopicPartition, last_offset: int | None) -> None:
        """Input records of ``tp`` on the broker that this stage has not read yet."""
        consumer = self.consumer
        highwater = consumer.highwater(tp) if consumer is not None else None
        if highwater is not None and last_offset is not None:
            set_consumer_lag(self.group, tp.topic, tp.partition, highwater - last_offset - 1)

    async def _send(self, letters: list[Letter], events: list[Released]) -> None:
        """Send dead letters as they are and valid events packed by agency; wait for the
        broker; only then do their offsets count as finished."""
        if not letters and not events:
            return
        packer = Packer()
        for _, partition, offset, valid in events:
            packer.add(valid.agency, partition, offset, valid.fields)
        internal = self.topics.events_by_agency
        records = [letter for letter, _, _ in letters]
        records += [Outgoing(internal, agency, value, ordered=True)
                    for agency, value in packer.records()]  # fmt: skip
        await deliver(records)
        for _, partition, offset in letters:
            self.offsets.finished(partition, offset)
        for _, partition, offset, _ in events:
            self.offsets.finished(partition, offset)

    async def flush(self) -> None:
        """Commit what is finished (before a rebalance, at shutdown). Held events are
        not sent out of order: their partition's next reader reads them again."""
        await self._commit()

    async def _commit(self) -> None:
        consumer = self.consumer
        self._last_commit = time.monotonic()
        positions = self.offsets.commits()
        if consumer is None or not positions:
            return
        assigned = {tp.partition for tp in consumer.assignment() if tp.topic == self.input_topic}
        owned = {p: o for p, o in positions.items() if p in assigned}
        try:
            if owned:
                await consumer.commit(
                    {TopicPartition(self.input_topic, p): o for p, o in owned.items()}
                )
                self.offsets.mark_committed(owned)
        except Exception as exc:  # a rebalance under way, the broker away: next time
            log.warning("ingest could not commit %s yet: %r", owned, exc)

    def _lagging(self, now: float) -> set[int]:
        """The assigned input partitions still delivering a backlog: never idle.

        A partition is behind while the broker holds records of it not yet
        delivered (:class:`~streams.worker.ingest.partition_lag.LagClock` says for how long
        that makes it lagging).
        """
        consumer = self.consumer
        if consumer is None:
            return set()
        behind = {}
        for tp in consumer.assignment():
            if tp.topic == self.input_topic:
                highwater = consumer.highwater(tp)
                position = private.known_position(consumer, tp)
                behind[tp.partition] = highwater is None or position is None or highwater > position
        self.merge.open(behind)
        return self.lag.lagging(behind, now)

    def forget(self, partitions: Collection[int]) -> None:
        self.offsets.forget(partitions)
        self.lag.forget(partitions)
        self.idle.forget(partitions)
        self.merge.forget(partitions)


class _GiveBack(ConsumerRebalanceListener):
    """Before partitions go to another member: send what is held, commit, forget them."""

    def __init__(self, ingest: Ingest) -> None:
        self.ingest = ingest

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        ingest = self.ingest
        try:
            async with ingest._lock:
                await ingest.flush()
        except Exception:
            log.exception("ingest could not flush before a rebalance")
        ingest.forget([tp.partition for tp in revoked if tp.topic == ingest.input_topic])

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("ingest reads %s", sorted(tp.partition for tp in assigned))
