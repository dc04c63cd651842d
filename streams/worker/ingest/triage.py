"""Input triage: a raw Kafka message becomes either a valid event or a dead letter.

Pure functions over bytes, used by the worker's source agent. Nothing here
talks to Kafka, so the rules for what is rejected, and how a rejected message
is described on the dead-letter topic, are testable on their own.

Rejected messages become dead letters (:mod:`streams.contract.dead_letter`).

>>> verdict = triage(b'{"event_id": "e1"}')
>>> verdict.reason
"missing required field 'ts'"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from streams.contract import SearchEvent, parse_event
from streams.contract.dead_letter import Headers, SourceCoordinates
from streams.errors import ContractError

# Headers the worker puts on the repartitioned copy of an event, so a failure
# further down can still name the message the event came from.
HEADER_ORIGIN_TOPIC = "frt-origin-topic"
HEADER_ORIGIN_PARTITION = "frt-origin-partition"
HEADER_ORIGIN_OFFSET = "frt-origin-offset"
HEADER_RESENT = "frt-resent"
"""On an internal record sent again after a failed send, so possibly behind later ones
(see :mod:`streams.worker.delivery`)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of :func:`triage`: exactly one of ``event`` and ``reason`` is set."""

    event: SearchEvent | None
    reason: str | None


def triage(value: bytes | None) -> Verdict:
    """Validate one message value as ``frt.search.v1``; never raises for bad input."""
    try:
        return Verdict(parse_event(value), None)
    except ContractError as exc:
        return Verdict(None, exc.reason)


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
