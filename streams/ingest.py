"""Input triage: a raw Kafka message becomes either a valid event or a dead letter.

Pure functions over bytes, used by the worker's source agent. Nothing here
talks to Kafka, so the rules for what is rejected, and how a rejected message
is described on the dead-letter topic, are testable on their own.

A dead letter keeps the message exactly as it arrived (value and key bytes
unchanged, a null value stays null) and says why and where it came from in
headers, so an operator can fix the producer and re-publish the original:

=============================== ==============================================
header                          value (UTF-8)
=============================== ==============================================
``frt-dlq-schema``              ``frt.dlq.v1``
``frt-dlq-reason``              one line, e.g. ``missing required field 'ts'``
``frt-dlq-source-topic``        the topic the message was read from
``frt-dlq-source-partition``    its partition (decimal)
``frt-dlq-source-offset``       its offset (decimal)
=============================== ==============================================

The message's own headers are kept in front of these.

>>> verdict = triage(b'{"event_id": "e1"}')
>>> verdict.reason
"missing required field 'ts'"
>>> letter = dead_letter(b"k", b"{", "bad", SourceCoordinates("frt.search-events", 2, 17))
>>> dict(letter.headers)["frt-dlq-source-offset"]
b'17'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from streams.contract import SearchEvent, parse_event
from streams.errors import ContractError

DLQ_SCHEMA = "frt.dlq.v1"
HEADER_SCHEMA = "frt-dlq-schema"
HEADER_REASON = "frt-dlq-reason"
HEADER_SOURCE_TOPIC = "frt-dlq-source-topic"
HEADER_SOURCE_PARTITION = "frt-dlq-source-partition"
HEADER_SOURCE_OFFSET = "frt-dlq-source-offset"
HEADER_TRUNCATED = "frt-dlq-truncated-from"
INTERNAL_ERROR_PREFIX = "internal error: "

# Headers the worker puts on the repartitioned copy of an event, so a failure
# further down can still name the message the event came from.
HEADER_ORIGIN_TOPIC = "frt-origin-topic"
HEADER_ORIGIN_PARTITION = "frt-origin-partition"
HEADER_ORIGIN_OFFSET = "frt-origin-offset"
HEADER_RESENT = "frt-resent"
"""On an internal record sent again after a failed send, so possibly behind later ones
(see :mod:`streams.delivery`)."""

MAX_REASON_CHARS = 1000

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class SourceCoordinates:
    """Where a message was read: topic, partition, offset."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of :func:`triage`: exactly one of ``event`` and ``reason`` is set."""

    event: SearchEvent | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record for the dead-letter topic."""

    key: bytes | None
    value: bytes | None
    headers: Headers


def triage(value: bytes | None) -> Verdict:
    """Validate one message value as ``frt.search.v1``; never raises for bad input."""
    try:
        return Verdict(parse_event(value), None)
    except ContractError as exc:
        return Verdict(None, exc.reason)


def one_line(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """A reason fit for a header: one line, bounded length.

    >>> one_line("a\\nb  c")
    'a b c'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def dead_letter(
    key: bytes | None,
    value: bytes | None,
    reason: str,
    source: SourceCoordinates,
    original_headers: Iterable[tuple[str, bytes]] = (),
) -> DeadLetter:
    """The dead-letter record for a rejected message: original bytes plus why and where."""
    headers: Headers = [(str(k), bytes(v)) for k, v in original_headers]
    headers += [
        (HEADER_SCHEMA, DLQ_SCHEMA.encode()),
        (HEADER_REASON, one_line(reason).encode("utf-8")),
        (HEADER_SOURCE_TOPIC, source.topic.encode("utf-8")),
        (HEADER_SOURCE_PARTITION, str(source.partition).encode()),
        (HEADER_SOURCE_OFFSET, str(source.offset).encode()),
    ]
    return DeadLetter(key, value, headers)


def truncated(letter: DeadLetter, limit: int) -> DeadLetter:
    """The same dead letter with its value cut to ``limit`` bytes.

    Used only when the broker refuses the full record as too large (the input
    topic may accept bigger messages than the dead-letter topic, and the
    headers add a little); ``frt-dlq-truncated-from`` gives the original size.

    >>> cut = truncated(DeadLetter(None, b"x" * 10, []), 4)
    >>> cut.value, cut.headers
    (b'xxxx', [('frt-dlq-truncated-from', b'10')])
    """
    if letter.value is None or len(letter.value) <= limit:
        return letter
    headers = [*letter.headers, (HEADER_TRUNCATED, str(len(letter.value)).encode())]
    return DeadLetter(letter.key, letter.value[:limit], headers)


def origin_headers(source: SourceCoordinates) -> Headers:
    """Headers naming the input message an internal (repartitioned) record came from."""
    return [
        (HEADER_ORIGIN_TOPIC, source.topic.encode("utf-8")),
        (HEADER_ORIGIN_PARTITION, str(source.partition).encode()),
        (HEADER_ORIGIN_OFFSET, str(source.offset).encode()),
    ]


def origin_position(headers: Sequence[tuple[str, bytes]]) -> tuple[tuple[int, int] | None, bool]:
    """Input partition and offset of an internal record, and whether it was resent
    out of order; ``(None, False)`` without origin headers.

    >>> origin_position(origin_headers(SourceCoordinates("in", 3, 9)))
    ((3, 9), False)
    >>> origin_position([*origin_headers(SourceCoordinates("in", 3, 9)), (HEADER_RESENT, b"1")])
    ((3, 9), True)
    """
    partition = offset = None
    resent = False
    for key, value in headers:
        if key == HEADER_ORIGIN_PARTITION:
            partition = value
        elif key == HEADER_ORIGIN_OFFSET:
            offset = value
        elif key == HEADER_RESENT:
            resent = True
    if partition is None or offset is None:
        return None, resent
    try:
        return (int(partition), int(offset)), resent
    except ValueError:
        return None, resent


def origin_of(
    headers: Sequence[tuple[str, bytes]], fallback: SourceCoordinates
) -> SourceCoordinates:
    """The input coordinates recorded by :func:`origin_headers`, or ``fallback``.

    >>> here = SourceCoordinates("internal", 0, 5)
    >>> origin_of(origin_headers(SourceCoordinates("in", 3, 9)), here)
    SourceCoordinates(topic='in', partition=3, offset=9)
    >>> origin_of([], here) == here
    True
    """
    found = {k: v for k, v in headers}
    try:
        return SourceCoordinates(
            found[HEADER_ORIGIN_TOPIC].decode("utf-8"),
            int(found[HEADER_ORIGIN_PARTITION]),
            int(found[HEADER_ORIGIN_OFFSET]),
        )
    except (KeyError, ValueError, UnicodeDecodeError):
        return fallback


def internal_error_reason(exc: BaseException) -> str:
    """The dead-letter reason for an event the detection code failed on.

    >>> internal_error_reason(KeyError("x"))
    "internal error: KeyError: 'x'"
    """
    return one_line(f"{INTERNAL_ERROR_PREFIX}{type(exc).__name__}: {exc}")
