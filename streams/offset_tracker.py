"""Which input offsets may be committed, when records finish out of read order.

The ingest stage reads each partition in offset order, but its records
finish in another order: dead letters go out at once while valid events wait
in the event-time merge. A partition may be committed only up to its first
record that is not finished (the broker resumes a restarted reader there),
so the tracker keeps, per partition, the offsets read and not yet finished.

>>> tracker = OffsetTracker()
>>> for offset in (10, 11, 12):
...     tracker.read(0, offset)
>>> tracker.done(0, 11)  # finished out of order: offset 10 still holds the commit
>>> tracker.committable()
{0: 10}
>>> tracker.done(0, 10)
>>> tracker.committable()  # 12 is still unfinished
{0: 12}
>>> tracker.done(0, 12)
>>> tracker.committable()  # everything read is finished
{0: 13}
>>> tracker.committable()  # nothing new to commit
{}
>>> tracker.read(1, 7)
>>> tracker.forget([1])  # partition revoked: its offsets are somebody else's now
>>> tracker.committable()
{}
"""

from __future__ import annotations

from collections.abc import Iterable


class OffsetTracker:
    """Per partition: offsets read and not finished, and the next offset to read."""

    def __init__(self) -> None:
        self._unfinished: dict[int, set[int]] = {}
        self._next: dict[int, int] = {}
        self._committed: dict[int, int] = {}

    def read(self, partition: int, offset: int) -> None:
        """``offset`` of ``partition`` was read (offsets of a partition arrive in order)."""
        self._unfinished.setdefault(partition, set()).add(offset)
        self._next[partition] = offset + 1

    def done(self, partition: int, offset: int) -> None:
        """The record at ``offset`` is finished: its effects are on the broker."""
        unfinished = self._unfinished.get(partition)
        if unfinished is not None:
            unfinished.discard(offset)

    def next_offset(self, partition: int) -> int | None:
        """The offset after the last one read, or None when nothing was read."""
        return self._next.get(partition)

    def committable(self) -> dict[int, int]:
        """New commit positions (the first unfinished offset, or the next to read),
        for partitions whose position moved since the last call."""
        out: dict[int, int] = {}
        for partition, following in self._next.items():
            unfinished = self._unfinished.get(partition)
            position = min(unfinished) if unfinished else following
            if self._committed.get(partition) != position:
                out[partition] = position
        self._committed.update(out)
        return out

    def uncommit(self, positions: Iterable[int]) -> None:
        """A commit of these partitions failed: offer their positions again next time."""
        for partition in positions:
            self._committed.pop(partition, None)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop everything known about ``partitions`` (revoked)."""
        for partition in partitions:
            self._unfinished.pop(partition, None)
            self._next.pop(partition, None)
            self._committed.pop(partition, None)

    def pending(self) -> int:
        """Records read and not finished, over all partitions."""
        return sum(len(offsets) for offsets in self._unfinished.values())
