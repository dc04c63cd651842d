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
before its input is acked: ``ingest`` acks each message itself after its
dead letter or copy is confirmed; ``detect`` finishes the body of its
``take_events`` loop (which acks the batch when the next one is requested)
only after the batch's alerts and dead letters are confirmed, and never lets
an exception escape it. A message is never committed before what it caused
is on the broker (at-least-once; a redelivery after a crash is harmless:
event-id dedupe and deterministic alert ids).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Sequence
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
from streams.tables import WorkerTables
from streams.topics import WorkerTopics

log = logging.getLogger("frtwatch.worker")

DLQ_TRUNCATE_BYTES = 256 * 1024
"""Dead-letter value size kept when the broker refuses the original as too large."""
MAX_RETRY_DELAY_S = 10.0
MERGE_IDLE_S = 1.0
"""A quiet input partition holds the others back for at most this long (wall clock)."""
MERGE_MAX_HELD = 20_000
"""Input messages held for the event-time merge or in flight, at most."""
TICK_S = 0.1


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
    releases what the merge holds once quiet partitions have been idle for
    ``idle_s``, and a sender sends released records in order, waits for the
    broker, and acks. Rebalances and shutdown wait for every started
    message to be acked, which happens within about ``idle_s``.
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
        self.max_in_flight = max_held
        self.in_flight = 0
        self._queue: asyncio.Queue[list[Routed]] = asyncio.Queue()
        self._room = asyncio.Event()
        self._room.set()

    def _watch_assignment(self, now: float) -> None:
        try:
            assigned = self.app.consumer.assignment()
        except Exception:  # consumer not started yet
            return
        self.merge.watch((tp.partition for tp in assigned if tp.topic == self.input_topic), now)

    def _enqueue(self, routed: list[Routed]) -> None:
        if routed:
            self._queue.put_nowait(routed)

    def accept(self, event: faust.EventT) -> None:
        """Route one message (synchronous: nothing else runs in between)."""
        self.in_flight += 1
        out, ts = route_input(event, self.topics)
        now = time.monotonic()
        if ts is None:
            self._enqueue([(out, event)])
            return
        self.merge.push(event.message.partition, ts, (out, event), now)
        self._enqueue(self.merge.release(now))

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
                self._enqueue(self.merge.release(now))
            except Exception:
                log.exception("event-time merge tick failed")

    async def _send_forever(self, stream: faust.Stream) -> None:
        while True:
            routed = await self._queue.get()
            while not self._queue.empty():
                routed.extend(self._queue.get_nowait())
            await deliver([out for out, _ in routed])
            for _, event in routed:
                await stream.ack(event)
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

    def judge(self, stream: faust.Stream, batch: Sequence[faust.EventT]) -> list[Outgoing]:
        """Run one batch; return the alerts and dead letters to send.

        Synchronous on purpose: ``stream._set_current_event`` decides which
        changelog partition each table write goes to, and the previous
        current event is restored before the next ``await``, because
        ``take_events``'s background buffer filler reads
        ``stream.current_event`` after it resumes and would otherwise file
        the next message under one of ours (acking the wrong offset).
        """
        out: list[Outgoing] = []
        items: list[BatchItem[faust.EventT]] = []
        for event in batch:
            try:
                decoded = orjson.loads(event.message.value or b"")
                items.append(BatchItem(event_from_dict(decoded), event))
            except Exception as exc:
                out.append(self._internal_error(event, exc))
        previous = stream.current_event
        try:
            result = self.detector.run(
                items, self.tables.users, self.tables.agencies, stream._set_current_event
            )
        except Exception as batch_exc:
            log.exception("a batch of %d events failed", len(items))
            result = BatchResult(failures=[(item, batch_exc) for item in items])
        finally:
            stream._set_current_event(None)
            stream.current_event = previous
        for item, error in result.failures:
            out.append(self._internal_error(item.token, error))
        alerts = self.topics.alerts
        out.extend(Outgoing(alerts, a.alert_id.encode(), a.to_json()) for a in result.alerts)
        return out


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
            await deliver(detection.judge(stream, batch))

    app.agent(topics.events, name="frtwatch.ingest")(ingest)
    app.agent(topics.events_by_agency, name="frtwatch.detect")(detect)
    app.task(feed.run)

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
