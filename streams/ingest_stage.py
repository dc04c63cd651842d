"""The ``ingest`` agent's work: validate, dead-letter, merge partitions by event time, re-key."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import faust
from faust.types import TP

from streams.delivery import Outgoing, deliver
from streams.event_time_merge import EventTimeMerge
from streams.hole_filler import HoleFiller
from streams.ingest import (
    Headers,
    SourceCoordinates,
    dead_letter,
    internal_error_reason,
    origin_headers,
    triage,
)
from streams.partition_order import PartitionOrder
from streams.topics import WorkerTopics

log = logging.getLogger("frtwatch.worker")

MERGE_IDLE_S = 1.0
"""A quiet input partition holds the others back for at most this long (wall clock)."""
MERGE_MAX_HELD = 10_000
"""Input messages the event-time merge holds at most (twice that may be in flight)."""
TICK_S = 0.1
LAG_GRACE_S = 5.0
"""A partition with records still on the broker holds the merge for at most this long
after it last delivered."""
STUCK_REPORT_S = 30.0
SEND_GROUP = 2000
"""Input messages sent, confirmed and acked together (Faust's timer commits them)."""


def coordinates(event: faust.EventT) -> SourceCoordinates:
    message = event.message
    return SourceCoordinates(message.topic, message.partition, message.offset)


def message_headers(event: faust.EventT) -> Headers:
    raw: Any = event.message.headers or ()
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def route_input(event: faust.EventT, topics: WorkerTopics) -> tuple[Outgoing, float | None]:
    """Where one input message goes: its agency's partition (with the event time), or
    the dead-letter topic (with no time)."""
    message = event.message
    headers = message_headers(event)
    return route_message(message.key, message.value, headers, coordinates(event), topics)


def route_message(
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    source: SourceCoordinates,
    topics: WorkerTopics,
) -> tuple[Outgoing, float | None]:
    """:func:`route_input` for a message given by its parts."""
    try:
        verdict = triage(value)
        if verdict.event is not None:
            valid = verdict.event
            copy = Outgoing(
                topics.events_by_agency,
                valid.agency.encode("utf-8"),
                valid.to_json(),
                origin_headers(source),
                ordered=True,
            )
            return copy, valid.ts
        reason = verdict.reason or "invalid event"
    except Exception as exc:  # a bug in validation must not lose the message
        log.exception("validation failed at %s", source)
        reason = internal_error_reason(exc)
    letter = dead_letter(key, value, reason, source, headers)
    return Outgoing.dead(topics.dlq, letter), None


Routed = tuple[Outgoing | None, faust.EventT | None]
"""What to send (None: nothing, it was sent on before) and the message to ack once it is
on the broker (None: a record read from a hole, which Faust never delivered)."""


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
    sender sends released records in order, waits for the broker and acks
    them (Faust's commit timer commits). A message read again that was sent
    on before is only acked; the records of a hole Faust left are read from
    the broker and sent first (:mod:`streams.partition_order`). Rebalances and shutdown wait for every started message to be
    acked, which happens within about ``idle_s``.
    """

    def __init__(
        self,
        app: faust.App,
        topics: WorkerTopics,
        filler: HoleFiller,
        *,
        idle_s: float = MERGE_IDLE_S,
        max_held: int = MERGE_MAX_HELD,
    ) -> None:
        self.app = app
        self.topics = topics
        self.input_topic = topics.events.get_topic_name()
        self.merge: EventTimeMerge[Routed] = EventTimeMerge(idle_s=idle_s, max_held=max_held)
        self.order: PartitionOrder[TP] = PartitionOrder()
        self.filler = filler
        # Above the merge's own bound, so the merge gives way before the loop has to wait.
        self.max_in_flight = 2 * max_held
        self.in_flight = 0
        self.lagging: set[int] = set()
        self._last_offset: dict[int, int] = {}
        self._active_since: dict[int, float] = {}
        self._last_progress = time.monotonic()
        self._last_report = 0.0
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

    async def take(self, event: faust.EventT) -> None:
        """Route one message, after the records of any hole before it
        (see :mod:`streams.partition_order`)."""
        message = event.message
        tp = message.tp
        consumer: Any = self.app.consumer  # Faust's committed offsets, read-only
        verdict, hole = self.order.judge(tp, message.offset, consumer._committed_offset.get(tp))
        if verdict == "seen":  # sent on already: only to be acked again
            self.in_flight += 1
            self._enqueue([(None, event)])
            return
        if hole is not None:
            first, last = hole
            records = await self.filler.fetch(tp.topic, tp.partition, first, last)
            if records:
                log.warning(
                    "records %s..%s of %s:%s never reached the worker; read %d directly",
                    first, last, tp.topic, tp.partition, len(records),
                )  # fmt: skip
            for record in records:
                headers = [(k, v) for k, v in record.headers or ()]
                source = SourceCoordinates(tp.topic, tp.partition, record.offset)
                self.accept(route_message(record.key, record.value, headers, source, self.topics),
                            tp.partition, record.offset, None)  # fmt: skip
        self.accept(route_input(event, self.topics), tp.partition, message.offset, event)

    def accept(
        self,
        routed: tuple[Outgoing, float | None],
        partition: int,
        offset: int,
        event: faust.EventT | None,
    ) -> None:
        """Queue one routed message (synchronous: nothing else runs in between)."""
        self.in_flight += 1
        out, ts = routed
        now = time.monotonic()
        self._last_offset[partition] = offset
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
                    await self.take(event)
                except Exception:  # never lose the stream over one message
                    log.exception("ingest failed on %s", coordinates(event))
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
                self._report_if_stuck(now)
            except Exception:
                log.exception("event-time merge tick failed")

    def _report_if_stuck(self, now: float) -> None:
        """A warning, at most every ``STUCK_REPORT_S``, while messages wait and none leave."""
        if not self.in_flight or now - self._last_progress < STUCK_REPORT_S:
            return
        if now - self._last_report < STUCK_REPORT_S:
            return
        self._last_report = now
        log.warning(
            "ingest: %d message(s) waiting, none sent for %.0fs (merge holds %d, outbox %d, "
            "lagging partitions %s, last offsets %s)",
            self.in_flight, now - self._last_progress, len(self.merge), len(self._outbox),
            sorted(self.lagging), dict(sorted(self._last_offset.items())),
        )  # fmt: skip

    async def _send_forever(self, stream: faust.Stream) -> None:
        while True:
            await self._outbox_ready.wait()
            outbox = self._outbox
            routed = [outbox.popleft() for _ in range(min(len(outbox), SEND_GROUP))]
            if not outbox:
                self._outbox_ready.clear()
            await deliver([out for out, _ in routed if out is not None])
            for _, event in routed:
                if event is not None:
                    await stream.ack(event)
            self._last_progress = time.monotonic()
            self.in_flight -= len(routed)
            if self.in_flight < self.max_in_flight:
                self._room.set()
