"""Dead letters of the input topic: ``frt.dlq.v1`` (see docs/CONTRACTS.md).

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
``frt-dlq-truncated-from``      the original size, when the value was cut to fit
=============================== ==============================================

The message's own headers are kept in front of these.

>>> letter = dead_letter(b"k", b"{", "bad", SourceCoordinates("frt.search-events", 2, 17))
>>> dict(letter.headers)["frt-dlq-source-offset"]
b'17'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DLQ_SCHEMA = "frt.dlq.v1"
HEADER_SCHEMA = "frt-dlq-schema"
HEADER_REASON = "frt-dlq-reason"
HEADER_SOURCE_TOPIC = "frt-dlq-source-topic"
HEADER_SOURCE_PARTITION = "frt-dlq-source-partition"
HEADER_SOURCE_OFFSET = "frt-dlq-source-offset"
HEADER_TRUNCATED = "frt-dlq-truncated-from"
INTERNAL_ERROR_PREFIX = "internal error: "

MAX_REASON_CHARS = 1000

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class SourceCoordinates:
    """Where a message was read: topic, partition, offset."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record for the dead-letter topic."""

    key: bytes | None
    value: bytes | None
    headers: Headers


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


def internal_error_reason(exc: BaseException) -> str:
    """The dead-letter reason for an event the detection code failed on.

    >>> internal_error_reason(KeyError("x"))
    "internal error: KeyError: 'x'"
    """
    return one_line(f"{INTERNAL_ERROR_PREFIX}{type(exc).__name__}: {exc}")
