"""The ``detect`` agent's work: one batch through the core, alerts out, states stored."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson
from faust.types import TP

from streams.contract.dead_letter import (
    Headers,
    SourceCoordinates,
    dead_letter,
    internal_error_reason,
)
from streams.contract.event import SearchEvent, event_from_dict
from streams.judge.batch import (
    BatchItem,
    BatchResult,
    ByteStates,
    Judge,
    store_agencies,
    store_users,
)
from streams.worker import observability
from streams.worker.delivery import Outgoing
from streams.worker.detect.state_writes import StateWrites
from streams.worker.ingest.triage import HEADER_RESENT, origin_of
from streams.worker.internal_records import position, unpack
from streams.worker.packed_values import LazyPacker, Unpacked
from streams.worker.runtime import WorkerRuntime
from streams.worker.tables import WorkerTables
from streams.worker.topics import WorkerTopics
from streams.worker.workarounds import private
from streams.worker.workarounds.hole_filler import HoleFiller
from streams.worker.workarounds.partition_order import PartitionOrder

log = logging.getLogger("frtwatch.worker")


class Detection:
    """The ``detect`` agent's per-batch work, over the worker's tables and topics."""

    def __init__(
        self,
        runtime: WorkerRuntime,
        topics: WorkerTopics,
        tables: WorkerTables,
    ) -> None:
        self.judge = Judge(runtime.engine, runtime.models)
        self.judged_until = -math.inf
        """The latest event time judged (a model version arriving later than this for
        events it applies to is late: :mod:`streams.worker.model_feed`)."""
        self.topics = topics
        self.tables = tables
        self.order: PartitionOrder[TP] = PartitionOrder()
        settings = runtime.settings
        self.filler = HoleFiller(settings.bootstrap, f"{settings.app_id}-holes")
        self.packer = LazyPacker()

    async def in_order(self, consumer: Any, batch: Sequence[faust.EventT]) -> Fresh:
        """The records of ``batch`` to judge, in offset order, with any Faust skipped.

        See :mod:`streams.worker.workarounds.partition_order`: a record already judged is left
        out; the records of a hole are read from the broker and put before
        the record that revealed it (with that record as their handle, so
        their states go to the same changelog partition).
        """
        fresh = Fresh()
        committed = private.committed_offsets(consumer)
        # Where a partition without a commit was started (streams.worker.workarounds.consumer_start).
        uncommitted = consumer.uncommitted_starts
        for event in batch:
            message = event.message
            tp = message.tp
            start = committed.get(tp)
            if start is None:
                start = uncommitted.get(tp)
            verdict, hole = self.order.judge(tp, message.offset, start)
            if verdict == "seen":
                continue
            if hole is not None:
                first, last = hole
                records = await self.filler.fetch(tp.topic, tp.partition, first, last)
                log.warning(
                    "records %s..%s of %s:%s never reached the worker; read %d directly",
                    first, last, tp.topic, tp.partition, len(records),
                )  # fmt: skip
                fresh.records.extend(
                    Incoming(
                        r.value, list(r.headers or ()), r.offset, event, tp.topic, tp.partition
                    )
                    for r in records
                )
                fresh.holes.append((tp, first, last))
            headers = message_headers(event)
            fresh.records.append(
                Incoming(message.value, headers, message.offset, event, tp.topic, tp.partition)
            )
        return fresh

    def _internal_error(
        self,
        record: Incoming,
        exc: BaseException,
        value: bytes | None = None,
        source: tuple[int, int] | None = None,
    ) -> Outgoing:
        """The dead letter for an event (or a whole record: no ``value``) that failed."""
        if source is not None:
            origin = SourceCoordinates(self.topics.events.get_topic_name(), *source)
        else:
            here = SourceCoordinates(record.topic, record.partition, record.offset)
            origin = origin_of(record.headers, here)
        key = record.token.message.key if record.offset == record.token.message.offset else None
        reason = internal_error_reason(exc)
        letter = dead_letter(key, record.value if value is None else value, reason, origin)
        return Outgoing.dead(self.topics.dlq, letter)

    def batches(self, records: Sequence[Incoming], max_events: int) -> Iterator[Judged]:
        """Judge ``records`` in batches of about ``max_events`` events (records are not
        split), one batch at a time as the caller asks for them.

        Each batch is the alerts and dead letters to send and the states to
        store. Judging reads the tables but writes nothing: :meth:`store` does,
        once the batch's alerts are on the broker (see :mod:`streams.judge.batch`),
        so the caller must store a batch before asking for the next.
        """
        items: list[BatchItem[Incoming]] = []
        letters: list[Outgoing] = []
        for record in records:
            self._decode(record, items, letters)
            if len(items) >= max_events:
                yield self._judge(items, letters)
                items, letters = [], []
        if items or letters:
            yield self._judge(items, letters)

    def _decode(
        self, record: Incoming, items: list[BatchItem[Incoming]], letters: list[Outgoing]
    ) -> None:
        """Add the events of ``record`` to ``items``; what cannot be read to ``letters``."""
        try:
            entries = unpack(record.value, record.headers)
        except Exception as exc:
            letters.append(self._internal_error(record, exc))
            return
        resent = (HEADER_RESENT, b"1") in record.headers
        for index, (decoded, source) in enumerate(entries):
            try:
                if isinstance(decoded, list):  # the ingest stage's compact form
                    event = SearchEvent.from_fields(decoded)
                else:
                    event = event_from_dict(decoded)
            except Exception as exc:
                raw = orjson.dumps(decoded)
                letters.append(self._internal_error(record, exc, raw, source))
                continue
            where = position(record.offset, index)
            items.append(BatchItem(event, record, where, source, resent))

    def _judge(self, items: list[BatchItem[Incoming]], letters: list[Outgoing]) -> Judged:
        judged = Judged(outgoing=letters)
        result = self.judge.judge(
            items, ByteStates(Unpacked(self.tables.users), self.tables.agencies)
        )
        if result.adopted:  # rare, and worth knowing: a worker died mid-write
            log.warning(
                "%d user state(s) taken from their agency's journal: the last worker "
                "stopped between storing a batch's agency and user states",
                result.adopted,
            )
        for item, error in result.failures:
            failed = self._internal_error(item.token, error, item.event.to_json(), item.source)
            judged.outgoing.append(failed)
        alerts = self.topics.alerts
        judged.outgoing.extend(
            Outgoing(alerts, a.alert_id.encode(), a.to_json()) for a in result.alerts
        )
        if result.accepted:
            self.judged_until = max(self.judged_until, max(e.ts for e in result.accepted))
        if result.shadow:
            observability.count_shadows(result)
        judged.result = result
        return judged

    async def store(self, judged: Judged) -> None:
        """Write the batch's new states; each goes to the changelog partition of its event.

        Agency states first, each carrying its batch's user states (its
        journal), on the broker before any user state is written: a crash in
        between leaves agencies ahead of users, never behind, and
        :meth:`~streams.judge.batch.Judge.judge` takes those users' states from the journal
        (see :mod:`streams.judge.progress_marks`). Both are confirmed by the broker
        before this returns (:mod:`streams.worker.detect.state_writes`).
        """
        result = judged.result
        try:
            agencies = StateWrites(self.tables.agencies)
            store_agencies(result, agencies, agencies.select)
            await agencies.save()
            users = StateWrites(self.tables.users, self.packer)
            store_users(result, users, users.select)
            await users.save()
        except Exception:
            log.exception("storing the states of a batch failed")


def message_headers(event: faust.EventT) -> Headers:
    raw: Any = event.message.headers or ()
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


@dataclass(frozen=True, slots=True)
class Incoming:
    """One internal record to judge: delivered by Faust (``token`` is its event) or read
    from a hole (``token`` is the event of the same partition that revealed it)."""

    value: bytes | None
    headers: Headers
    offset: int
    token: faust.EventT
    topic: str
    partition: int


@dataclass(slots=True)
class Fresh:
    """A batch's records to judge, in order, and the holes filled on the way."""

    records: list[Incoming] = field(default_factory=list)
    holes: list[tuple[TP, int, int]] = field(default_factory=list)


@dataclass(slots=True)
class Judged:
    """One detect batch between judging and storing."""

    outgoing: list[Outgoing] = field(default_factory=list)
    result: BatchResult[Incoming] = field(default_factory=BatchResult)
