"""The Faust agents: decode, call the core, send. Nothing else.

``ingest`` reads the input topic as raw bytes, validates each message
(:mod:`streams.ingest`) and either re-keys it by agency onto
``<app_id>-events-by-agency`` or dead-letters it. ``detect`` reads that
internal topic in micro-batches, runs them through the detection core and the
behaviour model (:mod:`streams.detection_batch`) with per-user and per-agency
state in changelogged tables, and sends alerts.

Acknowledgement and commits (checked against faust-streaming's source):
both agents use ``stream.take_events``, which acks a batch's events only when
the ``async for`` body has finished with that batch and asks for the next
one; the consumer commits only acked offsets, and before committing it
flushes the producer. Flushing does not report failed deliveries, so every
send here is awaited until the broker has confirmed it (``acks=all``),
retrying with back-off for as long as it takes; only then does the body
finish. A message is therefore never committed before its dead letter, its
repartitioned copy or its alerts are on the broker (at-least-once; duplicates
after a crash are harmless: event-id dedupe and deterministic alert ids).
"""

from __future__ import annotations

import asyncio
import logging
import sys
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


def route_input(event: faust.EventT, topics: WorkerTopics) -> Outgoing:
    """Where one input message goes: its agency's partition, or the dead-letter topic."""
    message = event.message
    source = _coordinates(event)
    try:
        verdict = triage(message.value)
        if verdict.event is not None:
            valid = verdict.event
            return Outgoing(
                topics.events_by_agency,
                valid.agency.encode("utf-8"),
                valid.to_json(),
                origin_headers(source),
            )
        reason = verdict.reason or "invalid event"
    except Exception as exc:  # a bug in validation must not lose the message
        log.exception("validation failed at %s", source)
        reason = internal_error_reason(exc)
    letter = dead_letter(message.key, message.value, reason, source, _headers(event))
    return Outgoing.dead(topics.dlq, letter)


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
        stream = cast(faust.Stream, agent_stream)
        await topics.declare_outputs()
        async for batch in stream.take_events(size, within=within):
            await deliver([route_input(event, topics) for event in batch])

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
