"""What each stored state has already absorbed, so a re-read event is applied once.

The worker stores every user and agency state with a small header of marks:

* ``position`` - the position, in its partition of the internal by-agency
  topic, of the last event applied to this state (record offset and index
  in the record: :func:`streams.worker.internal_records.position`). All of a user's
  and an agency's events pass through one partition of that topic, in order,
  so an event read again after a crash (everything after the last committed
  offset is) is recognised exactly: its position is not above the mark.
* ``sources`` - per input partition, the highest input offset applied. The
  ingest stage sends each input partition's events on in offset order, so a
  second copy of an event (sent again by an ingest stage that crashed after
  sending, before committing) carries an input offset not above the mark,
  whatever its new internal offset. Users carry these too, not only
  agencies: an agency's position can pass a copy it skipped (a later event
  of another user advanced it), so when a crash leaves the agency ahead of a
  user, only the user's own marks tell a copy from an event it still lacks.

The marks make redelivery exact however much is re-read; the event-id ring
in :class:`~streams.detectors.state.UserState` still catches the same event
produced twice to the input topic. The detection core knows nothing of
offsets: marks live beside the state bytes, not inside them.

A stored value is ``MAGIC + JSON marks + NUL + state bytes``; a value
without the magic prefix (written before the marks existed, or by a
driver that has no offsets, like ``frtwatch replay``) is all state.

An agency's value may also carry a *journal*: the stored values of the
users its last batch changed (``JOURNAL_MAGIC + JSON marks + NUL +
journal + state bytes``). A batch's states are several records, and Kafka
writes them one by one: the agency first, then its users. A crash in
between left users behind an agency that was already ahead, and a user's
events judged again then met the agency as it was *after* them (a
colleague's later searches counted, the first use of a system already
recorded): alerts the first judgement did not raise. With the journal, the
one record written first holds the whole batch's outcome, and a user found
behind its agency's journal takes the journal's state instead of being
judged again (:mod:`streams.judge.batch`).

>>> marks = Marks(position=41, sources={0: 7, 3: 12})
>>> value = join(marks, b'[1,"state"]')
>>> split(value)
(Marks(position=41, sources={0: 7, 3: 12}), b'[1,"state"]')
>>> split(b'[1,"state"]')
(Marks(position=-1, sources={}), b'[1,"state"]')
>>> marks.has_applied(41), marks.has_applied(42)
(True, False)
>>> marks.has_copy_of(source_partition=3, source_offset=12), marks.has_copy_of(3, 13)
(True, False)
>>> marks.advance(42, (3, 13)); marks
Marks(position=42, sources={0: 7, 3: 13})
>>> value = join(marks, b"[2]", journal=[("MPD/u1", b"[u1]"), ("MPD/u2", b"[u2]")])
>>> split(value)
(Marks(position=42, sources={0: 7, 3: 13}), b'[2]')
>>> split_journal(value)
(Marks(position=42, sources={0: 7, 3: 13}), [('MPD/u1', b'[u1]'), ('MPD/u2', b'[u2]')], b'[2]')
>>> split_journal(join(marks, b"[2]"))[1]
[]
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

MAGIC = b"\x01m"
JOURNAL_MAGIC = b"\x01j"
_LENGTHS = struct.Struct(">HI")  # key length, value length of one journal entry
_COUNT = struct.Struct(">I")  # bytes of journal that follow the marks


@dataclass(slots=True)
class Marks:
    position: int = -1
    sources: dict[int, int] = field(default_factory=dict)

    def has_applied(self, position: int) -> bool:
        """Whether the event at this internal position is already in the state."""
        return position <= self.position

    def has_copy_of(self, source_partition: int, source_offset: int) -> bool:
        """Whether an event from this input position (or a later one) is already applied."""
        return source_offset <= self.sources.get(source_partition, -1)

    def has_event(self, position: int, copy_of: tuple[int, int] | None) -> bool:
        """Whether the event at ``position`` is in the state: read again, or (``copy_of``,
        its input partition and offset, when the copy check applies) a second copy.

        (:meth:`has_applied` or :meth:`has_copy_of`, written out: this runs twice per event.)"""
        if position <= self.position:
            return True
        return copy_of is not None and copy_of[1] <= self.sources.get(copy_of[0], -1)

    def advance(self, position: int, source: tuple[int, int] | None = None) -> None:
        if position > self.position:
            self.position = position
        if source is not None:
            partition, source_offset = source
            if source_offset > self.sources.get(partition, -1):
                self.sources[partition] = source_offset


def join(marks: Marks, state: bytes, journal: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """The stored value: marks, the journal if any (key, stored value), then the state's bytes."""
    head = orjson.dumps([marks.position, [[p, o] for p, o in sorted(marks.sources.items())]])
    if not journal:
        return MAGIC + head + b"\x00" + state
    parts: list[bytes] = []
    for key, value in journal:
        raw = key.encode("utf-8")
        parts += (_LENGTHS.pack(len(raw), len(value)), raw, value)
    body = b"".join(parts)
    return JOURNAL_MAGIC + head + b"\x00" + _COUNT.pack(len(body)) + body + state


def split(value: bytes) -> tuple[Marks, bytes]:
    """Marks and state bytes of a stored value (no marks: a fresh :class:`Marks`)."""
    marks, _, state_at = _layout(value)
    return marks, value[state_at:]


def split_journal(value: bytes) -> tuple[Marks, list[tuple[str, bytes]], bytes]:
    """Marks, journal ((key, stored value) of each entry, in order) and state bytes."""
    marks, at, end = _layout(value)
    entries = []
    view = memoryview(value)
    while at < end:
        key_length, value_length = _LENGTHS.unpack_from(value, at)
        at += _LENGTHS.size
        key = bytes(view[at : at + key_length]).decode("utf-8")
        at += key_length
        entries.append((key, bytes(view[at : at + value_length])))
        at += value_length
    return marks, entries, value[end:]


def _layout(value: bytes) -> tuple[Marks, int, int]:
    """Marks, and where the journal and the state start."""
    journal = value.startswith(JOURNAL_MAGIC)
    if not journal and not value.startswith(MAGIC):
        return Marks(), 0, 0
    end = value.index(b"\x00", len(MAGIC))
    position, sources = orjson.loads(value[len(MAGIC) : end])
    marks = Marks(int(position), {int(p): int(o) for p, o in sources})
    at = end + 1
    if not journal:
        return marks, at, at
    (length,) = _COUNT.unpack_from(value, at)
    at += _COUNT.size
    return marks, at, at + length
