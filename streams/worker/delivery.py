"""Sending records so that nothing is acked before the broker has it.

Faust's producer flush before a commit does not report failed deliveries,
so every record the worker produces goes through :func:`deliver`, which
waits for the broker's confirmation (``acks=all``) and retries with back-off
for as long as it takes. A dead letter the broker refuses as too large is
retried with its value cut (``frt-dlq-truncated-from`` gives the size).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import faust
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder

from streams.contract.dead_letter import DeadLetter, Headers, truncated
from streams.worker.ingest.triage import HEADER_RESENT
from streams.worker.workarounds import private

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
    partition: int | None = None
    """The partition to write to (a table's changelog record goes to the partition of
    the event that caused it); None: the producer's partitioner picks by key."""
    ordered: bool = False
    """Its consumer relies on input order (see :mod:`streams.judge.progress_marks`): when it
    has to be sent again it is flagged as resent, for it may land after later ones."""

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


def _retry_form(record: Outgoing, exc: BaseException | None = None) -> Outgoing:
    if record.ordered and (HEADER_RESENT, b"1") not in record.headers:
        return replace(record, headers=[*record.headers, (HEADER_RESENT, b"1")])
    if exc is not None and record.letter is not None and _too_large(exc):
        letter = truncated(record.letter, DLQ_TRUNCATE_BYTES)
        return Outgoing.dead(record.topic, letter)
    return record


BATCH_BYTES = 512 * 1024
"""Record batch size for :func:`deliver`'s batched path (the broker takes up to 1 MiB)."""
SINGLE_SEND_BYTES = 64 * 1024
"""Records larger than this (dead letters of huge messages) are sent one by one."""


async def deliver(records: Sequence[Outgoing]) -> None:
    """Send every record and wait until the broker has confirmed each one.

    Records go out as one record batch per topic partition (aiokafka's batch
    API: no per-record future or task), in the order given. Failed records
    are re-sent with exponential back-off (broker restarts, leader changes),
    each partition's from its first failed record on, so a partition's records
    stay in order; this returns only when all are delivered.
    """
    pending = list(records)
    delay = 0.5
    while pending:
        failed, last = await _send_once(pending)
        if failed:
            log.warning(
                "%d record(s) not delivered yet (%r); retrying in %.1fs", len(failed), last, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)
        pending = failed


async def _send_once(records: list[Outgoing]) -> tuple[list[Outgoing], BaseException | None]:
    """One attempt: the records to try again (in order) and the last error seen."""
    groups: dict[tuple[str, int | None], list[Outgoing]] = {}
    failed: list[Outgoing] = []
    last: BaseException | None = None
    known: set[str] = set()  # topics whose metadata the producer has
    for record in records:
        try:
            target = await _target(record, known)
        except Exception as exc:
            failed.append(_retry_form(record, exc))
            last = exc
            continue
        groups.setdefault(target, []).append(record)
    for (topic, partition), group in groups.items():
        broken = False  # after a failed chunk, a partition's later chunks go again too
        for chunk, future in await _send_group(group, topic, partition):
            try:
                await future
            except Exception as exc:
                last, broken = exc, True
                failed.extend(_retry_form(r, exc) for r in chunk)
                continue
            if broken and partition is not None:
                failed.extend(_retry_form(r) for r in chunk)
    return failed, last


async def _target(record: Outgoing, known: set[str]) -> tuple[str, int | None]:
    """The topic and partition of a record; no partition: send it alone, through Faust.

    ``known``: topics whose metadata was awaited already in this attempt (once per
    topic, not per record)."""
    topic = record.topic.get_topic_name()
    size = len(record.value or b"") + len(record.key or b"")
    producer = private.aiokafka_producer(record.topic.app.producer)
    if size > SINGLE_SEND_BYTES or producer is None:
        return topic, None
    if record.partition is not None:
        return topic, record.partition
    if topic not in known:
        await private.wait_on_metadata(producer, topic)
        known.add(topic)
    partition = private.partition_for(producer, topic, record.key)
    return topic, partition


async def _send_group(
    group: list[Outgoing], topic: str, partition: int | None
) -> list[tuple[list[Outgoing], Any]]:
    """Start sending ``group``: (records, awaitable) pairs, in order."""
    out: list[tuple[list[Outgoing], Any]] = []
    if partition is None:
        for record in group:
            try:
                future: Any = await record.topic.send(
                    key=record.key,
                    value=record.value,
                    partition=record.partition,
                    headers=record.headers or None,
                    force=True,
                )
            except Exception as exc:
                future = _failed(exc)
            out.append(([record], future))
        return out
    producer = private.aiokafka_producer(group[0].topic.app.producer)
    compression = private.compression_type(producer)
    chunk: list[Outgoing] = []
    builder = BatchBuilder(BATCH_BYTES, compression)
    for record in group:
        headers = record.headers or []
        added = builder.append(timestamp=None, key=record.key, value=record.value, headers=headers)
        if added is None:  # full: send it, start the next
            out.append((chunk, await _send_batch(producer, builder, topic, partition)))
            chunk, builder = [], BatchBuilder(BATCH_BYTES, compression)
            builder.append(timestamp=None, key=record.key, value=record.value, headers=headers)
        chunk.append(record)
    if chunk:
        out.append((chunk, await _send_batch(producer, builder, topic, partition)))
    return out


async def _send_batch(producer: Any, builder: BatchBuilder, topic: str, partition: int) -> Any:
    try:
        return await producer.send_batch(builder, topic, partition=partition)
    except Exception as exc:
        return _failed(exc)


def _failed(exc: BaseException) -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future
