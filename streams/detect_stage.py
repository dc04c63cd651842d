"""The ``detect`` agent's work: one batch through the core, alerts out, states stored."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import faust
import orjson

from streams.contract.event import event_from_dict
from streams.delivery import Outgoing
from streams.detection_batch import BatchDetector, BatchItem, BatchResult
from streams.ingest import dead_letter, internal_error_reason, origin_of
from streams.ingest_stage import coordinates, message_headers
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
