"""The ``detect`` agent's work: one batch through the core, alerts out, states stored."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson
from faust.types import TP

from streams.contract.event import event_from_dict
from streams.delivery import Outgoing
from streams.detection_batch import BatchDetector, BatchItem, BatchResult
from streams.ingest import dead_letter, internal_error_reason, origin_of, origin_position
from streams.ingest_stage import coordinates, message_headers
from streams.partition_order import InternalOrder
from streams.runtime import WorkerRuntime
from streams.tables import WorkerTables
from streams.topics import WorkerTopics

log = logging.getLogger("frtwatch.worker")


class Detection:
    """The ``detect`` agent's per-batch work, over the worker's tables and topics."""

    def __init__(self, runtime: WorkerRuntime, topics: WorkerTopics, tables: WorkerTables) -> None:
        self.detector = BatchDetector(runtime.engine, runtime.model)
        self.topics = topics
        self.tables = tables
        self.order: InternalOrder[TP] = InternalOrder()

    def in_order(self, consumer: Any, batch: Sequence[faust.EventT]) -> Fresh:
        """The events of ``batch`` to judge now, and the partitions to read again.

        See :mod:`streams.partition_order`: an event already judged is
        skipped; one beyond records Faust lost is held back until the
        partition has been read again from the first lost one.
        """
        fresh = Fresh()
        committed = consumer._committed_offset  # Faust's own bookkeeping, read-only
        now = time.monotonic()
        for event in batch:
            message = event.message
            tp = message.tp
            verdict = self.order.judge(tp, message.offset, committed.get(tp), now)
            if verdict == "next":
                fresh.events.append(event)
            elif verdict == "rewind":
                expected = self.order.expected(tp)
                if expected is not None:
                    fresh.rewind[tp] = expected
        return fresh

    def _internal_error(self, event: faust.EventT, exc: BaseException) -> Outgoing:
        message = event.message
        source = origin_of(message_headers(event), coordinates(event))
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
                source, resent = origin_position(message_headers(event))
                item = BatchItem(
                    event_from_dict(decoded), event, event.message.offset, source, resent
                )
                items.append(item)
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

    async def store(self, stream: faust.Stream, judged: Judged) -> None:
        """Write the batch's new states; each goes to the changelog partition of its event.

        Agency states first, on the broker before any user state is written:
        a crash in between then leaves agencies ahead of users, never behind,
        and :meth:`BatchDetector.judge` applies a re-read event to the users
        alone (see :mod:`streams.progress_marks`).
        """
        result = judged.result
        try:
            with _current_events(stream) as select:
                self.detector.store_agencies(result, self.tables.agencies, select)
            if result.agencies and result.users:
                await stream.app.producer.flush()
            with _current_events(stream) as select:
                self.detector.store_users(result, self.tables.users, select)
        except Exception:
            log.exception("storing the states of a batch failed")


@dataclass(slots=True)
class Fresh:
    """The events of a batch to judge now, and where to read partitions again from."""

    events: list[faust.EventT] = field(default_factory=list)
    rewind: dict[Any, int] = field(default_factory=dict)


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
