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
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError

from streams.ingest import DeadLetter, Headers, truncated

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
