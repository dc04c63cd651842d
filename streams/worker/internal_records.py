"""Records of the internal by-agency topic: several events of one agency per record.

Every event passes through Faust once, on the internal topic, and Faust's
per-message work costs more than judging the event (docs/PERFORMANCE.md). So
the ingest stage packs the events of one agency that it sends together into
one record: the value is a JSON array of ``[input partition, input offset,
event]`` entries, in input order, the event being the validated event's
fields (:meth:`~streams.contract.event.SearchEvent.to_fields`: validated and
parsed once, in the ingest stage) or an ``frt.search.v1`` object. The
record's key is the agency, as before.

A record whose value is a JSON object is a single event whose input
coordinates are in the ``frt-origin-*`` headers (:func:`streams.worker.ingest.triage.origin_headers`);
:func:`unpack` reads both.

An event's *position* (:func:`position`), which the progress marks compare
(:mod:`streams.judge.progress_marks`), is its record's offset and its index in the
record: a record is judged whole, within one batch, so positions increase
along the partition exactly as offsets did.

>>> value = pack([(2, 40, b'{"event_id":"a"}'), (0, 7, b'{"event_id":"b"}')])
>>> value
b'[[2,40,{"event_id":"a"}],[0,7,{"event_id":"b"}]]'
>>> unpack(value, [])
[({'event_id': 'a'}, (2, 40)), ({'event_id': 'b'}, (0, 7))]
>>> position(3, 1) > position(2, PACK_MAX - 1)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from streams.worker.ingest.triage import origin_position

PACK_MAX = 100
"""Events per record at most."""
PACK_MAX_BYTES = 256 * 1024
"""A record is closed once its events reach this size (events are at most 64 KiB each)."""
_SLOTS = 1 << 16


def position(offset: int, index: int) -> int:
    """The position of the ``index``-th event of the record at ``offset``."""
    return offset * _SLOTS + index


def pack(entries: Sequence[tuple[int, int, bytes]]) -> bytes:
    """One record value for ``(input partition, input offset, event JSON)`` entries."""
    return b"[" + b",".join(b"[%d,%d,%b]" % entry for entry in entries) + b"]"


def unpack(
    value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> list[tuple[Any, tuple[int, int] | None]]:
    """The events of a record (decoded JSON, not yet checked) with their input coordinates.

    Raises ValueError (orjson's JSONDecodeError) for a value that is not JSON.
    """
    decoded = orjson.loads(value or b"")
    if isinstance(decoded, list):
        out: list[tuple[Any, tuple[int, int] | None]] = []
        for entry in decoded:
            partition, offset, event = entry
            out.append((event, (int(partition), int(offset))))
        return out
    return [(decoded, origin_position(headers)[0])]


class Packer:
    """Packs the internal records of one send, keeping each agency's order.

    ``add`` events in the order they are to reach the topic; ``records`` gives
    ``(agency, value)`` pairs in an order that keeps each agency's events in
    theirs (records of different agencies may interleave differently).
    """

    def __init__(self, max_events: int = PACK_MAX, max_bytes: int = PACK_MAX_BYTES) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._open: dict[bytes, list[tuple[int, int, bytes]]] = {}
        self._bytes: dict[bytes, int] = {}
        self._closed: list[tuple[bytes, bytes]] = []

    def add(self, agency: bytes, partition: int, offset: int, event: bytes) -> None:
        entries = self._open.setdefault(agency, [])
        entries.append((partition, offset, event))
        size = self._bytes[agency] = self._bytes.get(agency, 0) + len(event)
        if len(entries) >= self.max_events or size >= self.max_bytes:
            self._closed.append((agency, pack(entries)))
            del self._open[agency], self._bytes[agency]

    def records(self) -> list[tuple[bytes, bytes]]:
        out = self._closed + [(agency, pack(entries)) for agency, entries in self._open.items()]
        self._open, self._bytes, self._closed = {}, {}, []
        return out
