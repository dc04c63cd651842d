"""The Faust agents: decode, call the core, send.

``ingest`` reads the input topic as raw bytes, validates each message
(:mod:`streams.ingest`) and either dead-letters it or re-keys it by agency
onto ``<app_id>-events-by-agency``, merging the input partitions by event
time on the way (:mod:`streams.event_time_merge`). ``detect`` reads that
internal topic in micro-batches (``stream.take_events``), runs them through
the detection core and the behaviour model (:mod:`streams.detection_batch`)
with per-user and per-agency state in changelogged tables, and sends alerts.

Acknowledgement and commits (checked against faust-streaming 0.15.3):
the consumer commits only acked offsets, contiguous per partition, and
flushes the producer before committing; but a flush does not report failed
deliveries, and Faust acks an event in a ``finally`` even when the handler
raised or was cancelled. So every send here is awaited until the broker has
confirmed it (``acks=all``), retrying with back-off for as long as it takes,
before its input is acked, and no exception escapes an agent's loop:

* ``ingest`` acks each message itself once its dead letter or re-keyed copy
  is confirmed;
* ``detect`` sends a batch's alerts and dead letters, waits for the broker,
  only then writes the new states to the tables (a state that has seen an
  event must never be durable before that event's alerts), and acks the
  batch.

Both then commit at once rather than at Faust's next timer tick, so a crash
re-reads as little as possible. At-least-once overall: what is re-read after
a crash is recognised by event-id dedupe while it is among a user's last
few events, and alert ids are deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import faust
import orjson
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from faust.types import StreamT

from streams.certificates_feed import CertificateFeed
from streams.contract.event import event_from_dict
from streams.detection_batch import BatchDetector, BatchItem, BatchResult
from streams.event_time_merge import EventTimeMerge
from streams.ingest import (
    DeadLetter,
    Headers,
    SourceCoordinates,
    dead_letter,
    internal_error_reason,
    origin_headers,
    origin_of,
    triage,
    truncated,
)
from streams.runtime import WorkerRuntime
from streams.stalled_commits import StallWatch, consumer_acks
from streams.tables import WorkerTables
from streams.topics import WorkerTopics

log = logging.getLogger("frtwatch.worker")

DLQ_TRUNCATE_BYTES = 256 * 1024
"""Dead-letter value size kept when the broker refuses the original as too large."""
MAX_RETRY_DELAY_S = 10.0
MERGE_IDLE_S = 1.0
"""A quiet input partition holds the others back for at most this long (wall clock)."""
MERGE_MAX_HELD = 10_000
"""Input messages the event-time merge holds at most (twice that may be in flight)."""
TICK_S = 0.1
LAG_GRACE_S = 5.0
SEND_GROUP = 500
"""Input messages sent, confirmed, acked and committed together: what a crash re-sends."""
STALL_CHECK_S = 5.0
STALL_CHECKS = 2
"""A commit gap must persist this many checks (about 10 s) before a partition is re-read."""


@dataclass(slots=True)
class Outgoing:
    """One record to send; ``letter`` is set for dead letters (which may be truncated)."""

    topic: faust.TopicT
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)
    letter: DeadLetter | None = None

    @classmethod
    def dead(cls, topic: faust.TopicT, letter: DeadLetter) -> Outgoing:
        return cls(topic, letter.key, letter.value, letter.headers, letter)


def _too_large(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MessageSizeTooLargeError | RecordTooLargeError):
            return True
        seen = seen.__cause__
    return False


def _retry_form(record: Outgoing, exc: BaseException) -> Outgoing:
    if record.letter is not None and _too_large(exc):
        letter = truncated(record.letter, DLQ_TRUNCATE_BYTES)
        return Outgoing.dead(record.topic, letter)
    return record


async def deliver(records: Sequence[Outgoing]) -> None:
    """Send every record and wait until the broker has confirmed each one.

    Failed records are re-sent with exponential back-off (broker restarts,
    leader changes); this returns only when all are delivered.
    """
    pending = list(records)
    delay = 0.5
    while pending:
        failed: list[Outgoing] = []
        sent: list[tuple[Outgoing, Any]] = []
        for record in pending:
            try:
                future = await record.topic.send(
                    key=record.key,
                    value=record.value,
                    headers=record.headers or None,
                    force=True,
                )
            except Exception as exc:
                failed.append(_retry_form(record, exc))
                last = exc
                continue
            sent.append((record, future))
        for record, future in sent:
            try:
                await future
            except Exception as exc:
                failed.append(_retry_form(record, exc))
                last = exc
        if failed:
            log.warning(
                "%d record(s) not delivered yet (%r); retrying in %.1fs", len(failed), last, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)
        pending = failed


def _coordinates(event: faust.EventT) -> SourceCoordinates:
    message = event.message
    return SourceCoordinates(message.topic, message.partition, message.offset)


def _headers(event: faust.EventT) -> Headers:
    raw: Any = event.message.headers or ()
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def route_input(event: faust.EventT, topics: WorkerTopics) -> tuple[Outgoing, float | None]:
    """Where one input message goes: its agency's partition (with the event time), or
    the dead-letter topic (with no time)."""
    message = event.message
    source = _coordinates(event)
    try:
        verdict = triage(message.value)
        if verdict.event is not None:
            valid = verdict.event
            copy = Outgoing(
                topics.events_by_agency,
                valid.agency.encode("utf-8"),
                valid.to_json(),
                origin_headers(source),
            )
            return copy, valid.ts
        reason = verdict.reason or "invalid event"
    except Exception as exc:  # a bug in validation must not lose the message
        log.exception("validation failed at %s", source)
        reason = internal_error_reason(exc)
    letter = dead_letter(message.key, message.value, reason, source, _headers(event))
    return Outgoing.dead(topics.dlq, letter), None


Routed = tuple[Outgoing, faust.EventT]


class Ingest:
    """The ``ingest`` agent: validate, dead-letter, merge partitions by event time, re-key.

    Acks are manual here (``take_events`` would ack a batch whether or not
    its events were sent on): an input message is acked only after its dead
    letter or its re-keyed copy is confirmed by the broker. Valid events wait
    in an :class:`EventTimeMerge` over the assigned input partitions, so they
    reach the internal topic in event-time order even when the partitions
    are read unevenly (a backlog, a bulk load); invalid ones go straight out.

    Three tasks share the work: the agent loop routes each message, a ticker
    releases what the merge holds once it has waited ``idle_s`` (unless a
    partition with records still on the broker could precede it), and a
    sender sends released records in order, waits for the broker, acks and
    commits. Rebalances and shutdown wait for every started message to be
    acked, which happens within about ``idle_s``.
    """

    def __init__(
        self,
        app: faust.App,
        topics: WorkerTopics,
        *,
        idle_s: float = MERGE_IDLE_S,
        max_held: int = MERGE_MAX_HELD,
    ) -> None:
        self.app = app
        self.topics = topics
        self.input_topic = topics.events.get_topic_name()
        self.merge: EventTimeMerge[Routed] = EventTimeMerge(idle_s=idle_s, max_held=max_held)
        # Above the merge's own bound, so the merge gives way before the loop has to wait.
        self.max_in_flight = 2 * max_held
        self.in_flight = 0
        self.lagging: set[int] = set()
        self._last_offset: dict[int, int] = {}
        self._active_since: dict[int, float] = {}
        self._outbox: deque[Routed] = deque()
        self._outbox_ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def _watch_assignment(self, now: float) -> None:
        """Watch the assigned input partitions; note which are still delivering a backlog.

        A partition counts as lagging while the broker holds records of it not
        yet delivered, but only for ``LAG_GRACE_S`` after it last delivered (or
        was assigned): offsets are not always contiguous (transaction markers,
        compaction), and a partition that stopped delivering must never hold
        the merge for long.
        """
        consumer: Any = self.app.consumer
        try:
            assigned = [tp for tp in consumer.assignment() if tp.topic == self.input_topic]
        except Exception:  # consumer not started yet
            return
        self.merge.watch((tp.partition for tp in assigned), now)
        lagging = set()
        for tp in assigned:
            since = self._active_since.setdefault(tp.partition, now)
            if now - since > LAG_GRACE_S:
                continue
            highwater = consumer.highwater(tp)
            seen = self._last_offset.get(tp.partition)
            if seen is None:
                seen = (consumer._committed_offset.get(tp) or 0) - 1
            if highwater is None or highwater > seen + 1:  # None: not fetched yet
                lagging.add(tp.partition)
        for partition in set(self._active_since) - {tp.partition for tp in assigned}:
            del self._active_since[partition]
        self.lagging = lagging

    def _enqueue(self, routed: list[Routed]) -> None:
        if routed:
            self._outbox.extend(routed)
            self._outbox_ready.set()

    def accept(self, event: faust.EventT) -> None:
        """Route one message (synchronous: nothing else runs in between)."""
        self.in_flight += 1
        out, ts = route_input(event, self.topics)
        now = time.monotonic()
        partition = event.message.partition
        self._last_offset[partition] = event.message.offset
        self._active_since[partition] = now
        if ts is None:
            self._enqueue([(out, event)])
            return
        self.merge.push(partition, ts, (out, event), now)
        self._enqueue(self.merge.release(now, self.lagging))

    async def run(self, stream: faust.Stream) -> None:
        stream.enable_acks = False  # acked by the sender once delivered
        tasks = [
            asyncio.ensure_future(self._tick_forever()),
            asyncio.ensure_future(self._send_forever(stream)),
        ]
        try:
            self._watch_assignment(time.monotonic())
            async for event in stream.events():
                try:
                    self.accept(event)
                except Exception:  # never lose the stream over one message
                    log.exception("ingest failed on %s", _coordinates(event))
                while self.in_flight >= self.max_in_flight:
                    self._room.clear()
                    await self._room.wait()
        finally:
            for task in tasks:
                task.cancel()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                now = time.monotonic()
                self._watch_assignment(now)
                self._enqueue(self.merge.release(now, self.lagging))
            except Exception:
                log.exception("event-time merge tick failed")

    async def _send_forever(self, stream: faust.Stream) -> None:
        while True:
            await self._outbox_ready.wait()
            outbox = self._outbox
            routed = [outbox.popleft() for _ in range(min(len(outbox), SEND_GROUP))]
            if not outbox:
                self._outbox_ready.clear()
            await deliver([out for out, _ in routed])
            for _, event in routed:
                await stream.ack(event)
            await commit_now(self.app)
            self.in_flight -= len(routed)
            if self.in_flight < self.max_in_flight:
                self._room.set()


class Detection:
    """The ``detect`` agent's per-batch work, over the worker's tables and topics."""

    def __init__(self, runtime: WorkerRuntime, topics: WorkerTopics, tables: WorkerTables) -> None:
        self.detector = BatchDetector(runtime.engine, runtime.model)
        self.topics = topics
        self.tables = tables

    def _internal_error(self, event: faust.EventT, exc: BaseException) -> Outgoing:
        message = event.message
        source = origin_of(_headers(event), _coordinates(event))
        letter = dead_letter(message.key, message.value, internal_error_reason(exc), source)
        return Outgoing.dead(self.topics.dlq, letter)

    def judge(self, stream: faust.Stream, batch: Sequence[faust.EventT]) -> Judged:
        """Run one batch: the alerts and dead letters to send, the states to store.

        Reads the tables with each event made current (``_set_current_event``)
        but writes nothing: :meth:`store` does, once the alerts are on the
        broker (see :mod:`streams.detection_batch`).
        """
        judged = Judged()
        items: list[BatchItem[faust.EventT]] = []
        for event in batch:
            try:
                decoded = orjson.loads(event.message.value or b"")
                items.append(BatchItem(event_from_dict(decoded), event))
            except Exception as exc:
                judged.outgoing.append(self._internal_error(event, exc))
        try:
            with _current_events(stream) as select:
                result = self.detector.judge(items, self.tables.users, self.tables.agencies, select)
        except Exception as batch_exc:
            log.exception("a batch of %d events failed", len(items))
            result = BatchResult(failures=[(item, batch_exc) for item in items])
        for item, error in result.failures:
            judged.outgoing.append(self._internal_error(item.token, error))
        alerts = self.topics.alerts
        judged.outgoing.extend(
            Outgoing(alerts, a.alert_id.encode(), a.to_json()) for a in result.alerts
        )
        judged.result = result
        return judged

    def store(self, stream: faust.Stream, judged: Judged) -> None:
        """Write the batch's new states; each goes to the changelog partition of its event."""
        try:
            with _current_events(stream) as select:
                self.detector.store(judged.result, self.tables.users, self.tables.agencies, select)
        except Exception:
            log.exception("storing the states of a batch failed")


@dataclass(slots=True)
class Judged:
    """One detect batch between judging and storing."""

    outgoing: list[Outgoing] = field(default_factory=list)
    result: BatchResult[faust.EventT] = field(default_factory=BatchResult)


@contextmanager
def _current_events(stream: faust.Stream) -> Iterator[Callable[[faust.EventT], None]]:
    """Let the caller make events current, then put back what was current before.

    ``stream._set_current_event`` decides which changelog partition a table
    write goes to (Faust uses the current event's partition). What was
    current before must be restored before the next ``await``: the
    background filler of ``take_events`` reads ``stream.current_event`` when
    it resumes and would otherwise file the next message under one of ours
    (acking the wrong offset). The block must therefore not ``await``.
    """
    previous = stream.current_event
    try:
        yield stream._set_current_event
    finally:
        stream._set_current_event(None)
        stream.current_event = previous


async def commit_now(app: faust.App) -> None:
    """Commit every acked offset now instead of at Faust's next timer tick.

    Everything a message caused is on the broker before it is acked, so the
    sooner its offset is committed, the fewer messages a crash makes the
    worker read again (each re-read event is only recognised as a duplicate
    while it is among the last few ids of its user). Faust flushes the
    producer (the table changelogs) before it commits.
    """
    try:
        # Faust skips a commit requested while another is running (returning
        # False once that one is done); the second call then commits ours.
        if not await app.consumer.commit():
            await app.consumer.commit()
    except Exception:
        log.exception("committing offsets failed; Faust's timer will retry")


def install(
    app: faust.App,
    runtime: WorkerRuntime,
    topics: WorkerTopics,
    tables: WorkerTables,
    feed: CertificateFeed,
) -> None:
    """Register the agents, the certificate reader and the readiness line on ``app``."""
    settings = runtime.settings
    detection = Detection(runtime, topics, tables)
    size, within = settings.batch_size, settings.batch_within_s

    async def ingest(agent_stream: StreamT) -> None:
        await topics.declare_outputs()
        await Ingest(app, topics).run(cast(faust.Stream, agent_stream))

    async def detect(agent_stream: StreamT) -> None:
        stream = cast(faust.Stream, agent_stream)
        await topics.declare_outputs()
        await feed.loaded.wait()
        async for batch in stream.take_events(size, within=within):
            await feed.catch_up()
            judged = detection.judge(stream, batch)
            await deliver(judged.outgoing)
            detection.store(stream, judged)
            for event in batch:  # take_events acks them again later: a no-op
                await stream.ack(event)
            await commit_now(app)

    app.agent(topics.events, name="frtwatch.ingest")(ingest)
    app.agent(topics.events_by_agency, name="frtwatch.detect")(detect)
    app.task(feed.run)

    stall_watch: StallWatch[Any] = StallWatch(checks=STALL_CHECKS)
    sources = (topics.events.get_topic_name(), topics.events_by_agency.get_topic_name())

    async def rewind_stalled_partitions() -> None:
        """Re-read partitions whose commit is stuck behind records Faust lost (see
        :mod:`streams.stalled_commits`)."""
        if app.rebalancing:
            return
        consumer: Any = app.consumer  # Faust's private bookkeeping is read below
        try:
            stalled = stall_watch.observe(consumer_acks(consumer, sources))
            for tp in stalled:
                committed = consumer._committed_offset.get(tp)
                log.warning(
                    "commit of %s:%s is stuck at offset %s behind records that were never "
                    "processed; reading the partition again from there",
                    tp.topic, tp.partition, committed,
                )  # fmt: skip
                await consumer.seek(tp, committed)
        except Exception:
            log.exception("checking for stalled commits failed")

    app.timer(STALL_CHECK_S, name="frtwatch.rewind_stalled_partitions")(rewind_stalled_partitions)

    announcements: set[asyncio.Future[None]] = set()

    async def announce(sender: faust.App) -> None:
        await feed.loaded.wait()
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in sender.consumer.assignment())
        print(
            f"frtwatch worker ready: {len(assigned)} partition(s) assigned; "
            f"{feed.applied} certificate update(s) applied",
            file=sys.stdout,
            flush=True,
        )

    async def announce_ready(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        # Recovery awaits this receiver before the app counts as started (and
        # before app tasks such as the certificate reader run): never block it.
        task = asyncio.ensure_future(announce(sender))
        announcements.add(task)
        task.add_done_callback(announcements.discard)

    # mode types receivers with mypy_extensions.NamedArg, which no plain def matches.
    app.on_rebalance_complete.connect(announce_ready)  # type: ignore[arg-type]
